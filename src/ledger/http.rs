//! Read-only HTTP JSON API for financial staff, as an axum `Router` (mounted by the `http` component):
//! `GET /ledger/accounts[?journal=]`, `GET /ledger/accounts/{code}/balance?layers=&journal=&as_of=`,
//! `GET /ledger/accounts/{code}/statement?from=&to=&layers=&journal=`. Amounts are decimal strings.
//! With a token configured every request needs `Authorization: Bearer <token>`.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::extract::{Path, Query, Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use sqlx::PgPool;

use super::account::{find_account, list_accounts, Account, AccountCode};
use super::amount::Amount;
use super::balance::{all_nets, balance, rolled_up};
use super::error::LedgerError;
use super::journal::{find_journal, list_journals, Journal};
use super::layer::{parse_layers, Layer};
use super::statement::{statement, Statement};
use super::time::{parse_as_of, parse_from, parse_to};

/// API settings.
#[derive(Clone, Debug, Default)]
pub struct HttpConfig {
    /// Journal used when a request names none (else: the only journal).
    pub journal: Option<String>,
    /// Bearer token required on every request, if set.
    pub token: Option<String>,
}

#[derive(Clone)]
struct AppState {
    pool: PgPool,
    config: Arc<HttpConfig>,
}

/// The ledger API router over `pool`.
pub fn router(pool: PgPool, config: HttpConfig) -> Router {
    let state = AppState {
        pool,
        config: Arc::new(config),
    };
    Router::new()
        .route("/ledger/accounts", get(accounts))
        .route("/ledger/accounts/{code}/balance", get(account_balance))
        .route("/ledger/accounts/{code}/statement", get(account_statement))
        .route_layer(middleware::from_fn_with_state(state.clone(), auth))
        .with_state(state)
}

/// An API error: status and `{"error": "..."}`.
struct ApiError(StatusCode, String);

impl From<LedgerError> for ApiError {
    fn from(e: LedgerError) -> ApiError {
        let status = match &e {
            LedgerError::AccountNotFound(_)
            | LedgerError::JournalNotFound(_)
            | LedgerError::TransactionNotFound(_) => StatusCode::NOT_FOUND,
            LedgerError::Invalid { .. } => StatusCode::BAD_REQUEST,
            e if e.is_connection() => StatusCode::SERVICE_UNAVAILABLE,
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        };
        ApiError(status, e.to_string())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.0, Json(serde_json::json!({ "error": self.1 }))).into_response()
    }
}

/// Compare without an early exit, so timing does not reveal how much of a token matched.
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

async fn auth(State(state): State<AppState>, req: Request, next: Next) -> Response {
    if let Some(token) = &state.config.token {
        let given = req
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "));
        if !given.is_some_and(|g| same(g.as_bytes(), token.as_bytes())) {
            return ApiError(
                StatusCode::UNAUTHORIZED,
                "missing or wrong bearer token".into(),
            )
            .into_response();
        }
    }
    next.run(req).await
}

async fn journal(state: &AppState, name: Option<&str>) -> Result<Journal, ApiError> {
    if let Some(name) = name.or(state.config.journal.as_deref()) {
        return Ok(find_journal(&state.pool, name).await?);
    }
    let mut all = list_journals(&state.pool).await?;
    if all.len() == 1 {
        return Ok(all.remove(0));
    }
    Err(ApiError(
        StatusCode::BAD_REQUEST,
        "several journals: give ?journal=".into(),
    ))
}

fn layers_for(account: &Account, layers: Option<&str>) -> Result<Vec<Layer>, ApiError> {
    if let Some(s) = layers {
        return Ok(parse_layers(s)?);
    }
    account
        .currency
        .as_deref()
        .and_then(|c| c.parse().ok())
        .map(|c| Layer::accounting(c).map(|l| vec![l]))
        .transpose()?
        .ok_or_else(|| {
            ApiError(
                StatusCode::BAD_REQUEST,
                format!("account {} has no currency: give ?layers=", account.code),
            )
        })
}

#[derive(Deserialize)]
struct AccountsQuery {
    journal: Option<String>,
}

#[derive(Serialize)]
struct AccountView {
    #[serde(flatten)]
    account: Account,
    #[serde(skip_serializing_if = "Option::is_none")]
    balances: Option<BTreeMap<String, Amount>>,
}

async fn accounts(
    State(state): State<AppState>,
    Query(q): Query<AccountsQuery>,
) -> Result<Json<Vec<AccountView>>, ApiError> {
    let all = list_accounts(&state.pool).await?;
    let Some(name) = q.journal else {
        return Ok(Json(
            all.into_iter()
                .map(|account| AccountView {
                    account,
                    balances: None,
                })
                .collect(),
        ));
    };
    let j = journal(&state, Some(&name)).await?;
    let nets = all_nets(&state.pool, j.id).await?;
    let views = all
        .iter()
        .map(|a| AccountView {
            account: a.clone(),
            balances: Some(
                j.layers
                    .iter()
                    .map(|l| (l.layer.to_string(), rolled_up(a, &all, &nets, &[l.layer])))
                    .collect(),
            ),
        })
        .collect();
    Ok(Json(views))
}

#[derive(Deserialize)]
struct BalanceQuery {
    layers: Option<String>,
    journal: Option<String>,
    as_of: Option<String>,
}

#[derive(Serialize)]
struct BalanceView {
    account: AccountCode,
    journal: String,
    layers: Vec<Layer>,
    as_of: Option<chrono::DateTime<chrono::Utc>>,
    balance: Amount,
}

async fn account_balance(
    State(state): State<AppState>,
    Path(code): Path<String>,
    Query(q): Query<BalanceQuery>,
) -> Result<Json<BalanceView>, ApiError> {
    let code = AccountCode::new(code)?;
    let j = journal(&state, q.journal.as_deref()).await?;
    let a = find_account(&state.pool, &code).await?;
    let layers = layers_for(&a, q.layers.as_deref())?;
    let as_of = q.as_of.as_deref().map(parse_as_of).transpose()?;
    let b = balance(&state.pool, &j.name, &code, &layers, as_of).await?;
    Ok(Json(BalanceView {
        account: code,
        journal: j.name,
        layers,
        as_of,
        balance: b,
    }))
}

#[derive(Deserialize)]
struct StatementQuery {
    from: String,
    to: String,
    layers: Option<String>,
    journal: Option<String>,
}

async fn account_statement(
    State(state): State<AppState>,
    Path(code): Path<String>,
    Query(q): Query<StatementQuery>,
) -> Result<Json<Statement>, ApiError> {
    let code = AccountCode::new(code)?;
    let j = journal(&state, q.journal.as_deref()).await?;
    let a = find_account(&state.pool, &code).await?;
    let layers = layers_for(&a, q.layers.as_deref())?;
    let (from, to) = (parse_from(&q.from)?, parse_to(&q.to)?);
    Ok(Json(
        statement(&state.pool, &j.name, &code, &layers, from, to).await?,
    ))
}
