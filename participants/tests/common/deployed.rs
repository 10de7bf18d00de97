//! The default deploy (`deploy/10_space.yml` and `deploy/30_txnmgr.yml`, with a server and a ledger on
//! a fresh fixture database) running in an in-process container, driven over real TCP with CMF.

use std::sync::Arc;
use std::time::Duration;

use rust_decimal::Decimal;
use switchyard::channel::{Framing, LengthPrefix};
use switchyard::deploy::health::HealthBoard;
use switchyard::deploy::{Container, Services};
use switchyard::iso::{IsoMsg, Spec};
use switchyard::txn::ParticipantRegistry;
use switchyard_participants::{register, register_deployed, PanKey};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::harness::TestDb;

const DEPLOY: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../deploy");

/// A running default deploy over a fresh fixture database.
pub struct Deployed {
    pub db: TestDb,
    pub port: u16,
    container: Container,
    _dir: tempfile::TempDir,
}

impl Deployed {
    /// Fixtures loaded, the default transaction manager deployed, listening on a free port.
    pub async fn start() -> Deployed {
        Deployed::start_with(|txnmgr| txnmgr).await
    }

    /// As `start`, with `deploy/30_txnmgr.yml` passed through `edit` first.
    pub async fn start_with(edit: impl FnOnce(String) -> String) -> Deployed {
        let db = super::fixture_db().await;
        let url = db.url();
        let dir = tempfile::tempdir().expect("tempdir");
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("port")
            .port();
        std::fs::copy(
            format!("{DEPLOY}/10_space.yml"),
            dir.path().join("10_space.yml"),
        )
        .expect("copy");
        let txnmgr = std::fs::read_to_string(format!("{DEPLOY}/30_txnmgr.yml")).expect("read");
        std::fs::write(dir.path().join("30_txnmgr.yml"), edit(txnmgr)).expect("write");
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
        register_deployed(
            &mut reg,
            PanKey::new(super::PAN_KEY.to_vec()),
            switchyard_participants::cache::DEFAULT_TTL,
        );
        let services = Services {
            health: Arc::new(HealthBoard::default()),
            prometheus: None,
            logging: None,
            spaces: Default::default(),
        };
        let container = Container::new(dir.path(), Arc::new(reg), services);
        container.deploy_all().await.expect("deploys");
        Deployed {
            db,
            port,
            container,
            _dir: dir,
        }
    }

    /// Send `req` on a new connection and read its answer (bounded).
    pub async fn send(&self, req: &IsoMsg) -> IsoMsg {
        let spec = Spec::builtin("cmf").expect("cmf");
        let framing = Framing::new(LengthPrefix::Binary2);
        let mut buf = Vec::new();
        framing
            .encode_msg(&spec, req, false, &mut buf)
            .expect("pack");
        let mut tcp = tokio::net::TcpStream::connect(("127.0.0.1", self.port))
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

    /// DE 39 of the answer to `req`.
    pub async fn rc(&self, req: &IsoMsg) -> String {
        super::rc(&self.send(req).await).to_owned()
    }

    /// Balance of `account` over `layers` (e.g. "840,1840").
    pub async fn balance(&self, account: &str, layers: &str) -> Decimal {
        super::balance(&self.db.pool, account, layers).await
    }

    /// GL transactions posted so far.
    pub async fn gl_count(&self) -> i64 {
        sqlx::query_scalar("SELECT count(*) FROM gl_transactions")
            .fetch_one(&self.db.pool)
            .await
            .expect("count")
    }

    /// Undeploy, then `switchyard ledger check` must be clean.
    pub async fn stop(self) {
        self.container.shutdown(Duration::from_secs(5)).await;
        let report = switchyard::ledger::check(&self.db.pool)
            .await
            .expect("check runs");
        assert!(report.discrepancy.is_none(), "{:?}", report.discrepancy);
    }
}
