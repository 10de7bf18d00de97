//! `acme.FraudScore` registered by this crate, deployed from YAML in an in-process container, and driven
//! over TCP: a small amount is approved, a large one declined with 1002, a bad config names file:line.

use std::sync::Arc;
use std::time::Duration;

use switchyard::channel::{Framing, LengthPrefix};
use switchyard::deploy::health::HealthBoard;
use switchyard::deploy::{Container, Services};
use switchyard::iso::{IsoMsg, Spec};
use switchyard::txn::ParticipantRegistry;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn services() -> Services {
    Services {
        health: Arc::new(HealthBoard::default()),
        prometheus: None,
        logging: None,
        spaces: Default::default(),
    }
}

fn registry() -> Arc<ParticipantRegistry> {
    let mut r = ParticipantRegistry::with_builtins();
    switchyard_participants::register(&mut r);
    Arc::new(r)
}

fn descriptors(dir: &std::path::Path, port: u16, max: &str) {
    std::fs::write(dir.join("10_space.yml"), "kind: space\nname: default\n").expect("write");
    std::fs::write(
        dir.join("20_server.yml"),
        format!("kind: server\nname: pos\nlisten: 127.0.0.1:{port}\nframing: binary2\nspec: cmf\nqueue: txnmgr.in\n"),
    )
    .expect("write");
    std::fs::write(
        dir.join("30_txnmgr.yml"),
        format!(
            "kind: txnmgr\nname: txnmgr\ngroups:\n  financial: [acme.FraudScore]\n  sendresponse: [core.SendResponse]\nselector:\n  kind: mti-pcode\n  routes:\n    \"200\": [financial, sendresponse]\n    default: [sendresponse]\nparticipant-config:\n  acme.FraudScore: {{ max-amount: {max} }}\n"
        ),
    )
    .expect("write");
}

async fn round_trip(port: u16, amount: &str) -> IsoMsg {
    let spec = Spec::builtin("cmf").expect("cmf");
    let framing = Framing::new(LengthPrefix::Binary2);
    let req = IsoMsg::with_mti("2200")
        .expect("mti")
        .with(3, "000000")
        .with(4, format!("8402{amount:0>12}"))
        .with(11, "000000000001")
        .with(41, "TERM0001");
    let mut buf = Vec::new();
    framing
        .encode_msg(&spec, &req, false, &mut buf)
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
    tokio::time::timeout(Duration::from_secs(10), read)
        .await
        .expect("response in time")
}

#[tokio::test]
async fn fraud_score_deploys_from_yaml_and_declines_large_amounts() {
    let dir = tempfile::tempdir().expect("tempdir");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("port")
        .port();
    descriptors(dir.path(), port, "5000");
    let c = Container::new(dir.path(), registry(), services());
    c.deploy_all().await.expect("deploys");
    assert_eq!(round_trip(port, "1000").await.get_str(39), Some("0000"));
    assert_eq!(round_trip(port, "9000").await.get_str(39), Some("1002"));
    c.shutdown(Duration::from_secs(5)).await;
}

#[tokio::test]
async fn a_bad_participant_config_names_file_line_and_key() {
    let dir = tempfile::tempdir().expect("tempdir");
    descriptors(dir.path(), 1, "0");
    let errors = switchyard::deploy::check_dir(dir.path(), &registry());
    let text: Vec<String> = errors.iter().map(ToString::to_string).collect();
    assert_eq!(errors.len(), 1, "{text:?}");
    assert!(
        text[0].contains("30_txnmgr.yml:12: key 'participant-config.acme.FraudScore'")
            && text[0].contains("max-amount"),
        "{text:?}"
    );
}
