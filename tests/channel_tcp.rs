//! Channels over real TCP on 127.0.0.1: every framing, TPDU swap, reconnect, bad clients, allow-list,
//! max sessions, TLS, keep-alive, and the space / transaction-manager paths.

use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use switchyard::channel::{
    BadMessage, ChannelAdaptor, ClientConfig, ClientTls, Framing, Header, LengthPrefix, Request,
    RequestSink, Server, ServerConfig, ServerTls,
};
use switchyard::iso::{IsoMsg, Spec};
use switchyard::mux::{Mux, MuxConfig};
use switchyard::sim::SimHost;
use switchyard::space::TSpace;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// A guard against hangs, not a performance assertion.
const WAIT: Duration = Duration::from_secs(10);

fn spec() -> Arc<Spec> {
    Spec::builtin("iso87ascii").unwrap()
}

fn any_port() -> SocketAddr {
    "127.0.0.1:0".parse().unwrap()
}

async fn sim_server(framing: Framing) -> Server {
    let cfg = ServerConfig::new(any_port(), framing, spec());
    sim_server_with(cfg).await
}

async fn sim_server_with(cfg: ServerConfig) -> Server {
    let host = SimHost::new(cfg.spec.clone(), None, Duration::ZERO).unwrap();
    Server::start(cfg, RequestSink::Listener(Arc::new(host)))
        .await
        .unwrap()
}

fn client_config(addr: SocketAddr, framing: Framing) -> ClientConfig {
    let mut c = ClientConfig::new(addr.to_string(), framing, spec());
    c.reconnect_min = Duration::from_millis(20);
    c.reconnect_max = Duration::from_millis(200);
    c
}

async fn connect_mux(cfg: ClientConfig) -> (ChannelAdaptor, Mux) {
    let (ch, rx) = ChannelAdaptor::start(cfg).unwrap();
    assert!(ch.wait_ready(WAIT).await, "channel did not connect");
    let mux = Mux::over(MuxConfig::new("test"), &ch, rx);
    (ch, mux)
}

fn echo(stan: u32) -> IsoMsg {
    IsoMsg::with_mti("0800")
        .unwrap()
        .with(11, format!("{stan:06}"))
        .with(41, "TERM0001")
        .with(70, "301")
}

async fn round_trip(mux: &Mux, stan: u32) -> IsoMsg {
    mux.request(echo(stan), WAIT)
        .await
        .unwrap()
        .expect("no response")
}

fn framed(framing: &Framing, msg: &IsoMsg) -> Vec<u8> {
    let mut out = Vec::new();
    framing.encode_msg(&spec(), msg, false, &mut out).unwrap();
    out
}

/// True when the server closed the connection (EOF or reset) before sending anything.
async fn closed_by_server(s: &mut TcpStream) -> bool {
    let mut b = [0u8; 64];
    matches!(
        tokio::time::timeout(WAIT, s.read(&mut b)).await,
        Ok(Ok(0)) | Ok(Err(_))
    )
}

#[tokio::test]
async fn every_framing_round_trips_over_tcp() {
    let framings = [
        Framing::new(LengthPrefix::Ascii4),
        Framing::new(LengthPrefix::Binary2),
        Framing::new(LengthPrefix::Binary4),
        Framing::new(LengthPrefix::Etx),
        Framing::new(LengthPrefix::Binary2).with_header(Header::Tpdu),
        Framing::new(LengthPrefix::Ascii4).with_header(Header::Fixed(Bytes::from_static(b"ISO1"))),
    ];
    for framing in framings {
        let server = sim_server(framing.clone()).await;
        let (ch, mux) = connect_mux(client_config(server.local_addr(), framing.clone())).await;
        for stan in 1..=3 {
            let r = round_trip(&mux, stan).await;
            assert_eq!(r.mti().as_str(), "0810", "{framing}");
            assert_eq!(r.get_str(39), Some("00"), "{framing}");
            assert_eq!(r.get_str(11), Some(format!("{stan:06}").as_str()));
        }
        ch.close(WAIT).await;
        server.shutdown(WAIT).await;
    }
}

#[tokio::test]
async fn tpdu_source_and_destination_are_swapped_on_the_reply() {
    let framing = Framing::new(LengthPrefix::Binary2).with_header(Header::Tpdu);
    let server = sim_server(framing.clone()).await;
    let (ch, mux) = connect_mux(client_config(server.local_addr(), framing)).await;
    let mut req = echo(7);
    req.set_header(Some(&[0x60, 0x00, 0x01, 0x00, 0x02]));
    let r = mux.request(req, WAIT).await.unwrap().unwrap();
    assert_eq!(r.header(), Some(&[0x60, 0x00, 0x02, 0x00, 0x01][..]));
    ch.close(WAIT).await;
}

#[tokio::test]
async fn client_reconnects_after_the_server_restarts() {
    let framing = Framing::new(LengthPrefix::Ascii4);
    let server = sim_server(framing.clone()).await;
    let addr = server.local_addr();
    let (ch, mux) = connect_mux(client_config(addr, framing.clone())).await;
    round_trip(&mux, 1).await;
    server.shutdown(WAIT).await;
    let mut ready = ch.ready();
    tokio::time::timeout(WAIT, ready.wait_for(|r| !*r))
        .await
        .unwrap()
        .unwrap();
    assert!(mux.request(echo(2), WAIT).await.is_err(), "not ready");
    let server = sim_server_with(ServerConfig::new(addr, framing, spec())).await;
    assert!(ch.wait_ready(WAIT).await, "did not reconnect");
    assert_eq!(round_trip(&mux, 3).await.get_str(39), Some("00"));
    assert!(ch.stats().connects.load(Ordering::Relaxed) >= 2);
    ch.close(WAIT).await;
    server.shutdown(WAIT).await;
}

#[tokio::test]
async fn garbage_and_oversized_frames_close_only_that_connection() {
    let framing = Framing::new(LengthPrefix::Ascii4).with_max_frame(1000);
    let mut cfg = ServerConfig::new(any_port(), framing.clone(), spec());
    cfg.on_bad_message = BadMessage::Drop;
    let server = sim_server_with(cfg).await;
    let addr = server.local_addr();
    let (ch, mux) = connect_mux(client_config(addr, framing.clone())).await;
    round_trip(&mux, 1).await;

    // Not a length prefix.
    let mut bad = TcpStream::connect(addr).await.unwrap();
    bad.write_all(b"ZZZZgarbage").await.unwrap();
    assert!(closed_by_server(&mut bad).await);
    // A length above max-frame.
    let mut big = TcpStream::connect(addr).await.unwrap();
    big.write_all(b"5000").await.unwrap();
    assert!(closed_by_server(&mut big).await);
    // A well-framed message that does not unpack is dropped; the connection goes on.
    let mut odd = TcpStream::connect(addr).await.unwrap();
    odd.write_all(b"0006XX0800").await.unwrap();
    odd.write_all(&framed(&framing, &echo(9))).await.unwrap();
    let mut len = [0u8; 4];
    tokio::time::timeout(WAIT, odd.read_exact(&mut len))
        .await
        .unwrap()
        .unwrap();
    let n: usize = std::str::from_utf8(&len).unwrap().parse().unwrap();
    let mut body = vec![0u8; n];
    odd.read_exact(&mut body).await.unwrap();
    assert_eq!(&body[..4], b"0810");

    assert_eq!(round_trip(&mux, 2).await.get_str(39), Some("00"));
    assert_eq!(server.stats().bad_frames.load(Ordering::Relaxed), 2);
    assert_eq!(server.stats().bad_messages.load(Ordering::Relaxed), 1);
    ch.close(WAIT).await;
}

#[tokio::test]
async fn a_bad_message_closes_the_connection_when_configured() {
    let framing = Framing::new(LengthPrefix::Binary2);
    let mut cfg = ServerConfig::new(any_port(), framing, spec());
    cfg.on_bad_message = BadMessage::Close;
    let server = sim_server_with(cfg).await;
    let mut s = TcpStream::connect(server.local_addr()).await.unwrap();
    s.write_all(b"\x00\x04ABCD").await.unwrap();
    assert!(closed_by_server(&mut s).await);
}

#[tokio::test]
async fn peers_outside_the_allow_list_are_refused() {
    let framing = Framing::new(LengthPrefix::Ascii4);
    let mut cfg = ServerConfig::new(any_port(), framing.clone(), spec());
    cfg.allow = vec!["10.0.0.0/8".parse().unwrap()];
    let server = sim_server_with(cfg).await;
    let mut s = TcpStream::connect(server.local_addr()).await.unwrap();
    let _ = s.write_all(&framed(&framing, &echo(1))).await;
    assert!(closed_by_server(&mut s).await);
    assert_eq!(server.stats().refused_peer.load(Ordering::Relaxed), 1);

    let mut cfg = ServerConfig::new(any_port(), framing.clone(), spec());
    cfg.allow = vec!["127.0.0.0/8".parse().unwrap()];
    let server = sim_server_with(cfg).await;
    let (ch, mux) = connect_mux(client_config(server.local_addr(), framing)).await;
    round_trip(&mux, 1).await;
    ch.close(WAIT).await;
}

#[tokio::test]
async fn max_sessions_refuses_the_extra_connection() {
    let framing = Framing::new(LengthPrefix::Ascii4);
    let mut cfg = ServerConfig::new(any_port(), framing.clone(), spec());
    cfg.max_sessions = 2;
    let server = sim_server_with(cfg).await;
    let addr = server.local_addr();
    let (c1, m1) = connect_mux(client_config(addr, framing.clone())).await;
    let (c2, m2) = connect_mux(client_config(addr, framing.clone())).await;
    round_trip(&m1, 1).await;
    round_trip(&m2, 2).await;
    let mut third = TcpStream::connect(addr).await.unwrap();
    assert!(closed_by_server(&mut third).await);
    assert_eq!(server.stats().refused_full.load(Ordering::Relaxed), 1);
    c1.close(WAIT).await;
    // Once a session ends, a new connection gets in.
    tokio::time::timeout(WAIT, async {
        while server.sessions() > 1 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await
    .unwrap();
    let (c3, m3) = connect_mux(client_config(addr, framing)).await;
    round_trip(&m3, 3).await;
    c2.close(WAIT).await;
    c3.close(WAIT).await;
}

#[tokio::test]
async fn tls_round_trip_with_a_self_signed_certificate() {
    let dir = tempfile::tempdir().unwrap();
    let ck = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    let cert = dir.path().join("cert.pem");
    let key = dir.path().join("key.pem");
    std::fs::write(&cert, ck.cert.pem()).unwrap();
    std::fs::write(&key, ck.signing_key.serialize_pem()).unwrap();

    let framing = Framing::new(LengthPrefix::Binary2);
    let mut cfg = ServerConfig::new(any_port(), framing.clone(), spec());
    cfg.tls = Some(ServerTls {
        cert: cert.clone(),
        key,
    });
    let server = sim_server_with(cfg).await;
    let mut ccfg = client_config(server.local_addr(), framing.clone());
    ccfg.tls = Some(ClientTls {
        ca: cert,
        server_name: "localhost".into(),
    });
    let (ch, mux) = connect_mux(ccfg).await;
    assert_eq!(round_trip(&mux, 1).await.get_str(39), Some("00"));
    ch.close(WAIT).await;

    // A plain-TCP client gets nothing back from the TLS server.
    let mut plain = TcpStream::connect(server.local_addr()).await.unwrap();
    plain.write_all(&framed(&framing, &echo(2))).await.unwrap();
    let mut got = Vec::new();
    let _ = tokio::time::timeout(WAIT, plain.read_to_end(&mut got))
        .await
        .unwrap();
    assert!(
        !got.windows(4).any(|w| w == b"0810"),
        "plaintext was answered"
    );
}

#[tokio::test]
async fn requests_go_to_a_space_queue_with_a_reply_handle() {
    let space: Arc<TSpace<Request>> = Arc::new(TSpace::new());
    let framing = Framing::new(LengthPrefix::Ascii4);
    let server = Server::start(
        ServerConfig::new(any_port(), framing.clone(), spec()),
        RequestSink::Space {
            space: space.clone(),
            queue: "requests".into(),
        },
    )
    .await
    .unwrap();
    let worker = {
        let space = space.clone();
        tokio::spawn(async move {
            let req = space.in_("requests", WAIT).await.expect("no request");
            let mut resp = req.msg.response_with(&[11, 41, 70]);
            resp.set(39, "00");
            resp.set(44, "via space");
            req.reply.send(resp).await.unwrap();
        })
    };
    let (ch, mux) = connect_mux(client_config(server.local_addr(), framing)).await;
    let r = round_trip(&mux, 5).await;
    assert_eq!(r.get_str(44), Some("via space"));
    worker.await.unwrap();
    ch.close(WAIT).await;
}

#[tokio::test]
async fn requests_reach_the_transaction_manager_queue_as_contexts() {
    use switchyard::txn::{Context, REPLY, REQUEST};
    let space: Arc<TSpace<Context>> = Arc::new(TSpace::new());
    let framing = Framing::new(LengthPrefix::Ascii4);
    let server = Server::start(
        ServerConfig::new(any_port(), framing.clone(), spec()),
        RequestSink::Txn {
            space: space.clone(),
            queue: "txnmgr.in".into(),
        },
    )
    .await
    .unwrap();
    let worker = {
        let space = space.clone();
        tokio::spawn(async move {
            let ctx = space.in_("txnmgr.in", WAIT).await.expect("no context");
            let req = ctx.get(&REQUEST).expect("REQUEST");
            let mut resp = req.response_with(&[11, 41, 70]);
            resp.set(39, "00");
            ctx.get(&REPLY).expect("REPLY").send(resp).await.unwrap();
        })
    };
    let (ch, mux) = connect_mux(client_config(server.local_addr(), framing)).await;
    assert_eq!(round_trip(&mux, 6).await.get_str(39), Some("00"));
    worker.await.unwrap();
    ch.close(WAIT).await;
}

#[tokio::test]
async fn idle_keep_alive_echoes_are_answered_and_not_queued() {
    let framing = Framing::new(LengthPrefix::Ascii4);
    let server = sim_server(framing.clone()).await;
    let mut cfg = client_config(server.local_addr(), framing);
    cfg.keep_alive = Some(Duration::from_millis(20));
    let (ch, mut rx) = ChannelAdaptor::start(cfg).unwrap();
    assert!(ch.wait_ready(WAIT).await);
    tokio::time::timeout(WAIT, async {
        while server.stats().replies.load(Ordering::Relaxed) < 2 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await
    .unwrap();
    assert!(ch.stats().echoes.load(Ordering::Relaxed) >= 2);
    assert!(
        rx.try_recv().is_err(),
        "echo responses must not reach the in-queue"
    );
    ch.close(WAIT).await;
}

#[tokio::test]
async fn idle_sessions_are_closed_after_the_idle_timeout() {
    let framing = Framing::new(LengthPrefix::Ascii4);
    let mut cfg = ServerConfig::new(any_port(), framing, spec());
    cfg.idle_timeout = Some(Duration::from_millis(50));
    let server = sim_server_with(cfg).await;
    let mut s = TcpStream::connect(server.local_addr()).await.unwrap();
    assert!(closed_by_server(&mut s).await);
}

#[tokio::test]
async fn close_writes_what_is_queued_before_closing() {
    let space: Arc<TSpace<Request>> = Arc::new(TSpace::new());
    let framing = Framing::new(LengthPrefix::Ascii4);
    let server = Server::start(
        ServerConfig::new(any_port(), framing.clone(), spec()),
        RequestSink::Space {
            space: space.clone(),
            queue: "in".into(),
        },
    )
    .await
    .unwrap();
    let (ch, _rx) = ChannelAdaptor::start(client_config(server.local_addr(), framing)).unwrap();
    assert!(ch.wait_ready(WAIT).await);
    for i in 0..100 {
        ch.send(echo(i)).await.unwrap();
    }
    ch.close(WAIT).await;
    assert!(!ch.is_ready());
    tokio::time::timeout(WAIT, async {
        while server.stats().requests.load(Ordering::Relaxed) < 100 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await
    .unwrap();
    assert_eq!(space.size("in"), 100);
}

#[tokio::test]
async fn shutdown_writes_the_queued_replies_then_closes() {
    use tokio_util::codec::Decoder;
    let space: Arc<TSpace<Request>> = Arc::new(TSpace::new());
    let framing = Framing::new(LengthPrefix::Ascii4);
    let server = Server::start(
        ServerConfig::new(any_port(), framing.clone(), spec()),
        RequestSink::Space {
            space: space.clone(),
            queue: "requests".into(),
        },
    )
    .await
    .unwrap();
    let mut tcp = TcpStream::connect(server.local_addr()).await.unwrap();
    tcp.write_all(&framed(&framing, &echo(1))).await.unwrap();
    tcp.write_all(&framed(&framing, &echo(2))).await.unwrap();
    let mut late = None;
    for _ in 0..2 {
        let req = space.in_("requests", WAIT).await.expect("no request");
        let mut resp = req.msg.response_with(&[11, 70]);
        resp.set(39, "00");
        req.reply.try_send(resp).unwrap();
        late = Some(req.reply);
    }
    // Nothing ran since the replies were queued (single-threaded test runtime): shutdown closes the
    // connection's queue before the session has written them, and the session must still write them.
    let mut got = Vec::new();
    let (_, read) = tokio::join!(
        server.shutdown(WAIT),
        tokio::time::timeout(WAIT, tcp.read_to_end(&mut got))
    );
    read.expect("connection not closed").unwrap();
    let late = late.unwrap();
    assert!(!late.is_open());
    assert!(
        late.try_send(echo(3)).is_err(),
        "a reply after shutdown is refused"
    );
    let mut buf = bytes::BytesMut::from(&got[..]);
    let mut codec = framing.codec();
    let mut stans = Vec::new();
    while let Some(frame) = codec.decode(&mut buf).unwrap() {
        let m = framing.decode_msg(&spec(), &frame).unwrap();
        assert_eq!(m.mti().as_str(), "0810");
        stans.push(m.get_str(11).unwrap().to_owned());
    }
    assert_eq!(stans, ["000001", "000002"]);
}

#[tokio::test]
async fn a_client_that_never_reads_is_closed_and_others_are_served() {
    let mut cfg = ServerConfig::new(any_port(), Framing::new(LengthPrefix::Ascii4), spec());
    cfg.reply_timeout = Duration::from_millis(300);
    let server = sim_server_with(cfg).await;
    let framing = Framing::new(LengthPrefix::Ascii4);
    // Writes requests without ever reading the replies until the server gives up on it.
    let mut hog = TcpStream::connect(server.local_addr()).await.unwrap();
    let burst: Vec<u8> = (0..2000).flat_map(|i| framed(&framing, &echo(i))).collect();
    let (ch, mux) = connect_mux(client_config(server.local_addr(), framing.clone())).await;
    let writer = tokio::spawn(async move {
        // Ends with an error once the server closes the connection.
        for _ in 0..10_000 {
            if hog.write_all(&burst).await.is_err() {
                return true;
            }
        }
        false
    });
    for stan in 0..50 {
        round_trip(&mux, stan).await;
    }
    assert!(
        tokio::time::timeout(WAIT * 3, writer)
            .await
            .unwrap()
            .unwrap(),
        "the server kept a client that never reads"
    );
    let r = round_trip(&mux, 99).await;
    assert_eq!(r.get_str(39), Some("00"));
    ch.close(WAIT).await;
}
