//! Shared setup for the jCard tests: a fresh database with the self-test fixtures, a real
//! TransactionManager running the jCard chain, CMF request builders and a capturing reply sink.

use std::str::FromStr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use rust_decimal::Decimal;
use switchyard::iso::IsoMsg;
use switchyard::ledger::AccountCode;
use switchyard::space::{Space, TSpace};
use switchyard::txn::{
    Action, Chain, Context, MtiPcodeSelector, Named, Participant, ReplyError, ReplySink,
    TransactionManager, TxnConfig, REPLY, REQUEST,
};
use switchyard_participants::keys::RESPONSE;
use switchyard_participants::{fixtures, participants, Jcard, PanKey};
use tokio::sync::mpsc;

#[path = "../../../tests/pg/harness.rs"]
#[allow(dead_code)]
mod harness;

#[allow(dead_code)]
pub mod deployed;

/// The PAN key every test database is loaded with.
pub const PAN_KEY: &[u8] = b"test-key";

/// A fresh database with the self-test fixtures loaded under `PAN_KEY`.
pub async fn fixture_db() -> harness::TestDb {
    let db = harness::TestDb::new().await;
    let fx = fixtures::Fixtures::from_file(std::path::Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../selftest/fixtures/jcard.yml"
    )))
    .expect("fixtures parse");
    fixtures::load(&db.pool, &PanKey::new(PAN_KEY.to_vec()), &fx)
        .await
        .expect("fixtures load");
    db
}

/// Fixture cards.
pub const ALICE: &str = "6009330000000025";
pub const BOB: &str = "6009330000000033";
pub const CAROL: &str = "6009330000000041";
pub const DAVE: &str = "6009330000000058";
pub const EXPIRED: &str = "6009330000000066";
pub const LOST: &str = "6009330000000074";

static STAN: AtomicU64 = AtomicU64::new(1);

/// Sends `RESPONSE` to the reply sink on commit and on abort (what core.SendResponse does).
struct Send;

async fn send(ctx: &Context) {
    if let (Some(r), Some(reply)) = (ctx.get(&RESPONSE).cloned(), ctx.get(&REPLY)) {
        let _ = reply.send(r).await;
    }
}

#[async_trait]
impl Participant for Send {
    async fn prepare(&self, _id: u64, _ctx: &mut Context) -> Action {
        Action::PREPARED | Action::READONLY
    }
    async fn commit(&self, _id: u64, ctx: &mut Context) {
        send(ctx).await;
    }
    async fn abort(&self, _id: u64, ctx: &mut Context) {
        send(ctx).await;
    }
    async fn prepare_for_abort(&self, _id: u64, _ctx: &mut Context) -> Option<Action> {
        Some(Action::PREPARED | Action::READONLY)
    }
}

struct Sink(mpsc::Sender<IsoMsg>);

#[async_trait]
impl ReplySink for Sink {
    async fn send(&self, response: IsoMsg) -> Result<(), ReplyError> {
        self.0.send(response).await.map_err(|_| ReplyError::Closed)
    }
}

/// A running switch over a fresh database.
pub struct Switch {
    pub db: harness::TestDb,
    /// Kept alive for the test's duration.
    pub _mgr: TransactionManager,
    pub space: Arc<TSpace<Context>>,
}

fn p(env: &Arc<Jcard>, name: &'static str) -> Named {
    let built = participants::build(env, name, &serde_yaml::Value::Null).expect("participant");
    (name.to_owned(), built)
}

impl Switch {
    /// Start: fixtures loaded, jCard chain with the CMF routes.
    pub async fn start() -> Switch {
        Switch::start_with_cache_ttl(switchyard_participants::cache::DEFAULT_TTL).await
    }

    /// `start`, with reference data cached for `ttl` (zero: not cached).
    pub async fn start_with_cache_ttl(ttl: Duration) -> Switch {
        Switch::start_custom(ttl, None).await
    }

    /// `start`, with `after_money` (if any) running right after Authorization and Financial.
    pub async fn start_custom(ttl: Duration, after_money: Option<Named>) -> Switch {
        let db = fixture_db().await;
        let env = Jcard::with_cache(
            db.pool.clone(),
            PanKey::new(PAN_KEY.to_vec()),
            switchyard_participants::RefCache::new(ttl),
        );
        let g = |names: &[&'static str]| names.iter().map(|n| p(&env, n)).collect::<Vec<_>>();
        let checks = [
            "jcard.CheckAcquirer",
            "jcard.CheckTerminal",
            "jcard.CheckCard",
            "jcard.SelectAccount",
        ];
        let with = |tail: &[&'static str]| {
            let mut v: Vec<&'static str> = checks.to_vec();
            v.extend_from_slice(tail);
            g(&v)
        };
        let money = |tail: &[&'static str]| {
            let mut v = with(tail);
            v.extend(after_money.clone());
            v
        };
        let groups = vec![
            (
                "authorization".to_owned(),
                money(&[
                    "jcard.CheckPreviousReverse",
                    "jcard.CheckVelocity",
                    "jcard.Fees",
                    "jcard.Authorization",
                ]),
            ),
            (
                "financial".to_owned(),
                money(&[
                    "jcard.CheckPreviousReverse",
                    "jcard.CheckVelocity",
                    "jcard.Fees",
                    "jcard.Financial",
                ]),
            ),
            ("refund".to_owned(), with(&["jcard.Fees", "jcard.Refund"])),
            ("deposit".to_owned(), with(&["jcard.Fees", "jcard.Deposit"])),
            (
                "transfer".to_owned(),
                with(&["jcard.Fees", "jcard.Transfer"]),
            ),
            (
                "balance".to_owned(),
                with(&["jcard.Fees", "jcard.BalanceInquiry"]),
            ),
            ("completion".to_owned(), with(&["jcard.Completion"])),
            ("void".to_owned(), g(&["jcard.CheckAcquirer", "jcard.Void"])),
            (
                "reversal".to_owned(),
                g(&["jcard.CheckAcquirer", "jcard.Reversal"]),
            ),
            ("respond".to_owned(), {
                let mut v = g(&["jcard.PrepareResponse", "jcard.LogIt"]);
                v.push((
                    "test.Send".to_owned(),
                    Arc::new(Send) as Arc<dyn Participant>,
                ));
                v
            }),
        ];
        let r = |gs: &[&str]| gs.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        let selector = MtiPcodeSelector::new(vec![
            ("100.00", r(&["authorization", "respond"])),
            ("100.01", r(&["authorization", "respond"])),
            ("100.02", r(&["void", "respond"])),
            ("100.30", r(&["balance", "respond"])),
            ("200.00", r(&["financial", "respond"])),
            ("200.01", r(&["financial", "respond"])),
            ("200.02", r(&["void", "respond"])),
            ("200.09", r(&["financial", "respond"])),
            ("200.20", r(&["refund", "respond"])),
            ("200.21", r(&["deposit", "respond"])),
            ("200.40", r(&["transfer", "respond"])),
            ("220", r(&["completion", "respond"])),
            ("400", r(&["reversal", "respond"])),
            ("420", r(&["reversal", "respond"])),
            ("default", r(&["respond"])),
        ])
        .expect("routes");
        let mut main = g(&[
            "jcard.PrepareContext",
            "jcard.CheckFields",
            "jcard.CreateTranLog",
        ]);
        main.push((
            "selector".to_owned(),
            Arc::new(selector) as Arc<dyn Participant>,
        ));
        let chain = Chain::new(main, groups).expect("chain");
        let space: Arc<TSpace<Context>> = Arc::new(TSpace::new());
        let cfg = TxnConfig {
            sessions: 16,
            ..TxnConfig::default()
        };
        let mgr =
            TransactionManager::builder(cfg, Arc::clone(&space) as Arc<dyn Space<Context>>, chain)
                .start()
                .await
                .expect("manager");
        Switch {
            db,
            _mgr: mgr,
            space,
        }
    }

    /// Send `req`, wait (bounded) for the response.
    pub async fn send(&self, req: IsoMsg) -> IsoMsg {
        let (tx, mut rx) = mpsc::channel(1);
        let mut ctx = Context::new();
        ctx.put(&REQUEST, req);
        ctx.put(&REPLY, Arc::new(Sink(tx)) as Arc<dyn ReplySink>);
        self.space.out("txnmgr.in", ctx, None);
        tokio::time::timeout(Duration::from_secs(20), rx.recv())
            .await
            .expect("response in time")
            .expect("a response")
    }

    /// Balance of `account` over `layers` (e.g. "840,1840").
    pub async fn balance(&self, account: &str, layers: &str) -> Decimal {
        balance(&self.db.pool, account, layers).await
    }

    /// `switchyard ledger check` must be clean.
    pub async fn ledger_check(&self) {
        let report = switchyard::ledger::check(&self.db.pool)
            .await
            .expect("check runs");
        assert!(report.discrepancy.is_none(), "{:?}", report.discrepancy);
    }

    /// GL transactions posted so far.
    pub async fn gl_count(&self) -> i64 {
        sqlx::query_scalar("SELECT count(*) FROM gl_transactions")
            .fetch_one(&self.db.pool)
            .await
            .expect("count")
    }
}

/// A fresh STAN (shared with `req`).
pub fn next_stan() -> u64 {
    STAN.fetch_add(1, Ordering::SeqCst)
}

/// A CMF request: MTI, DE 3, amount (USD), PAN; fresh STAN and times; acquirer 000001, TID 29110001.
pub fn req(mti: &str, pcode: &str, amount: &str, pan: &str) -> IsoMsg {
    let stan = next_stan();
    let minor = (Decimal::from_str(amount).expect("amount") * Decimal::ONE_HUNDRED).trunc();
    IsoMsg::with_mti(mti)
        .expect("mti")
        .with(2, pan)
        .with(3, pcode)
        .with(4, format!("8402{:0>12}", minor))
        .with(7, format!("1123{:06}", stan % 1_000_000))
        .with(11, format!("{stan:012}"))
        .with(12, format!("20261123{:06}", stan % 1_000_000))
        .with(32, "000001")
        .with(41, "29110001        ")
        .with(42, "001001")
}

/// DE 56 naming `orig`.
pub fn de56(orig: &IsoMsg) -> String {
    format!(
        "{}{}{}{}",
        orig.mti().as_str(),
        orig.get_str(11).unwrap_or(""),
        orig.get_str(12).unwrap_or(""),
        orig.get_str(32).unwrap_or("")
    )
}

/// DE 39 of a response.
pub fn rc(r: &IsoMsg) -> &str {
    r.get_str(39).unwrap_or("")
}

/// Balance of `account` in the `jcard` journal over `layers` (e.g. "840,1840").
pub async fn balance(pool: &sqlx::PgPool, account: &str, layers: &str) -> Decimal {
    let layers = switchyard::ledger::layer::parse_layers(layers).expect("layers");
    switchyard::ledger::balance(
        pool,
        "jcard",
        &AccountCode::new(account).expect("code"),
        &layers,
        None,
    )
    .await
    .expect("balance")
    .value()
}
