//! The read-only HTTP API served on 127.0.0.1:0 and queried with plain HTTP/1.1 over a TcpStream.

use std::net::SocketAddr;

use serde_json::Value;
use switchyard::ledger::http::{router, HttpConfig};
use switchyard::ledger::{post, NewTransaction};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::{timeout, Duration};

use crate::harness::TestDb;
use crate::post::{amt, code, deposit, layer, ALICE, PENDING};

async fn serve(db: &TestDb, token: Option<&str>) -> (SocketAddr, tokio::task::JoinHandle<()>) {
    let config = HttpConfig {
        journal: Some("jcard".into()),
        token: token.map(String::from),
    };
    let app = router(db.pool.clone(), config);
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(async move {
        axum::serve(listener, app).await.unwrap();
    });
    (addr, server)
}

/// GET `path`; returns (status, JSON body).
async fn get(addr: SocketAddr, path: &str, token: Option<&str>) -> (u16, Value) {
    let mut s = TcpStream::connect(addr).await.unwrap();
    let auth = token
        .map(|t| format!("Authorization: Bearer {t}\r\n"))
        .unwrap_or_default();
    let req = format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{auth}Connection: close\r\n\r\n");
    s.write_all(req.as_bytes()).await.unwrap();
    let mut buf = Vec::new();
    timeout(Duration::from_secs(10), s.read_to_end(&mut buf))
        .await
        .unwrap()
        .unwrap();
    let text = String::from_utf8(buf).unwrap();
    let (head, body) = text.split_once("\r\n\r\n").unwrap();
    let status: u16 = head.split_whitespace().nth(1).unwrap().parse().unwrap();
    let body = serde_json::from_str(body).unwrap_or(Value::String(body.to_string()));
    (status, body)
}

#[tokio::test]
async fn balances_statements_and_accounts_over_http() {
    let db = TestDb::with_chart().await;
    post(&db.pool, &deposit(ALICE, "100.10")).await.unwrap();
    let hold = NewTransaction::new("jcard", "hold")
        .debit(&code(ALICE), amt("0.10"), layer(1840))
        .credit(&code(PENDING), amt("0.10"), layer(1840));
    post(&db.pool, &hold).await.unwrap();
    let (addr, server) = serve(&db, None).await;

    let (status, body) = get(
        addr,
        "/ledger/accounts/21.001.00840/balance?layers=840,1840",
        None,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["balance"], "100.00");
    assert_eq!(body["layers"], serde_json::json!([840, 1840]));
    let (_, body) = get(addr, "/ledger/accounts/2/balance", None).await;
    assert_eq!(body["balance"], "100.10");
    let (_, body) = get(addr, "/ledger/accounts/21/balance?as_of=2000-01-01", None).await;
    assert_eq!(body["balance"], "0");

    let (status, body) = get(
        addr,
        "/ledger/accounts/21.001.00840/statement?from=2000-01-01&to=2999-12-31&layers=840,1840",
        None,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["opening"], "0");
    let running: Vec<&str> = body["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["balance"].as_str().unwrap())
        .collect();
    assert_eq!(running, vec!["100.10", "100.00"]);
    assert_eq!(body["lines"][1]["side"], "debit");
    assert_eq!(body["closing"], "100.00");

    let (status, body) = get(addr, "/ledger/accounts?journal=jcard", None).await;
    assert_eq!(status, 200);
    let alice = body
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["code"] == ALICE)
        .unwrap();
    assert_eq!(alice["balances"]["840"], "100.10");
    assert_eq!(alice["balances"]["1840"], "-0.10");
    assert_eq!(alice["kind"], "final");

    let (status, body) = get(addr, "/ledger/accounts/99/balance?layers=840", None).await;
    assert_eq!(status, 404, "{body}");
    assert!(body["error"].as_str().unwrap().contains("99"));
    let (status, _) = get(addr, "/ledger/accounts/21/balance?layers=x", None).await;
    assert_eq!(status, 400);
    server.abort();
}

#[tokio::test]
async fn bearer_token_is_required_when_configured() {
    let db = TestDb::with_chart().await;
    let (addr, server) = serve(&db, Some("s3cret")).await;
    assert_eq!(get(addr, "/ledger/accounts", None).await.0, 401);
    assert_eq!(get(addr, "/ledger/accounts", Some("wrong")).await.0, 401);
    let (status, body) = get(addr, "/ledger/accounts", Some("s3cret")).await;
    assert_eq!(status, 200);
    assert!(body.as_array().unwrap().len() > 5);
    server.abort();
}
