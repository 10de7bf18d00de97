//! The default deploy (`deploy/`, the jCard routes) in an in-process container, driven over TCP with CMF:
//! a purchase is approved, its retransmission answered identically without a second post, an
//! over-limit purchase declined with 1016, and the ledger stays sound.

// Shared with tests/jcard.rs, which uses the rest of it.
#[allow(dead_code)]
mod common;

use std::sync::Arc;
use std::time::Duration;

use rust_decimal_macros::dec;
use switchyard::channel::{Framing, LengthPrefix};
use switchyard::deploy::health::HealthBoard;
use switchyard::deploy::{Container, Services};
use switchyard::iso::{IsoMsg, Spec};
use switchyard::txn::ParticipantRegistry;
use switchyard_participants::{register, register_deployed, PanKey};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const DEPLOY: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../deploy");

async fn round_trip(port: u16, req: &IsoMsg) -> IsoMsg {
    let spec = Spec::builtin("cmf").expect("cmf");
    let framing = Framing::new(LengthPrefix::Binary2);
    let mut buf = Vec::new();
    framing
        .encode_msg(&spec, req, false, &mut buf)
        .expect("pack");
    let mut tcp = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .expect("connect");
    tcp.write_all(&buf).await.expect("send");
    let read = async {
        let mut len = [0u8; 2];
        tcp.read_exact(&mut len).await.expect("len");
        let mut frame = vec![0u8; usize::from(u16::from_be_bytes(len))];
        tcp.read_exact(&mut frame).await.expect("frame");
        framing.decode_msg(&spec, &frame).expect("unpack")
    };
    tokio::time::timeout(Duration::from_secs(20), read)
        .await
        .expect("response in time")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn jcard_deploy_over_tcp() {
    // Fixtures loaded with the key common::Switch uses; its own manager stays idle.
    let s = common::Switch::start().await;
    let o = &s.db.options;
    let host = o
        .get_socket()
        .map_or_else(|| o.get_host().to_owned(), |p| p.display().to_string());
    let url = format!(
        "postgres://{}@localhost:{}/{}?host={host}",
        o.get_username(),
        o.get_port(),
        o.get_database().expect("database")
    );
    let dir = tempfile::tempdir().expect("tempdir");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("port")
        .port();
    for f in ["10_space.yml", "30_txnmgr.yml"] {
        std::fs::copy(format!("{DEPLOY}/{f}"), dir.path().join(f)).expect("copy");
    }
    std::fs::write(
        dir.path().join("20_server.yml"),
        format!("kind: server\nname: pos\nlisten: 127.0.0.1:{port}\nframing: binary2\nspec: cmf\nqueue: txnmgr.in\n"),
    )
    .expect("write");
    std::fs::write(
        dir.path().join("25_ledger.yml"),
        format!("kind: ledger\nname: ledger\nurl: \"{url}\"\nmax-connections: 8\n"),
    )
    .expect("write");
    let mut reg = ParticipantRegistry::with_builtins();
    register(&mut reg);
    register_deployed(&mut reg, PanKey::new(b"test-key".to_vec()));
    let services = Services {
        health: Arc::new(HealthBoard::default()),
        prometheus: None,
        logging: None,
        spaces: Default::default(),
    };
    let c = Container::new(dir.path(), Arc::new(reg), services);
    c.deploy_all().await.expect("deploys");

    let buy = common::req("2200", "000010", "10.00", common::ALICE);
    let r = round_trip(port, &buy).await;
    assert_eq!(r.get_str(39), Some("0000"));
    assert!(r.get_str(38).is_some());
    assert!(!r.has(2), "the PAN is never echoed");
    let again = round_trip(port, &buy).await;
    assert_eq!(
        (again.get_str(38), again.get_str(39)),
        (r.get_str(38), r.get_str(39))
    );
    assert_eq!(s.balance("21.0001.10", "840").await, dec!(990.00));
    let big = common::req("2200", "000010", "990.01", common::ALICE);
    assert_eq!(round_trip(port, &big).await.get_str(39), Some("1016"));
    let unknown = common::req("2300", "000000", "1.00", common::ALICE);
    assert_eq!(
        round_trip(port, &unknown).await.get_str(39).map(str::len),
        Some(4)
    );
    c.shutdown(Duration::from_secs(5)).await;
    s.ledger_check().await;
}
