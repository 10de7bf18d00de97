//! The runner's connection to the switch: one TCP connection (re-opened after an error), one request
//! at a time; a response is the next frame whose MTI answers the request and whose DE 11 (when the
//! request has one) is the request's. Anything else that arrives — a late answer to an earlier case
//! that timed out — is counted and skipped.

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use tokio::io::{AsyncWriteExt, WriteHalf};
use tokio::net::TcpStream;
use tokio_util::codec::FramedRead;

use crate::channel::{FrameCodec, Framing};
use crate::iso::{IsoMsg, Spec};

/// Why an exchange produced no response.
#[derive(Debug, thiserror::Error)]
pub enum ExchangeError {
    /// Could not connect.
    #[error("connecting to {target}: {source}")]
    Connect {
        /// Where.
        target: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The request could not be packed.
    #[error("packing the request: {0}")]
    Pack(String),
    /// Sending or receiving failed, or the switch closed the connection.
    #[error("connection: {0}")]
    Io(String),
    /// No matching response in time.
    #[error("no response within {0:?}")]
    Timeout(Duration),
}

type Reader = FramedRead<tokio::io::ReadHalf<TcpStream>, FrameCodec>;

/// A connection to the switch under test.
pub struct Client {
    target: String,
    framing: Framing,
    spec: Arc<Spec>,
    conn: Option<(Reader, WriteHalf<TcpStream>)>,
    /// Frames skipped because they answered nothing pending.
    pub stray: u64,
}

impl Client {
    /// A client for `target` (`host:port`); connects on first use.
    pub fn new(target: &str, framing: Framing, spec: Arc<Spec>) -> Client {
        Client {
            target: target.to_owned(),
            framing,
            spec,
            conn: None,
            stray: 0,
        }
    }

    async fn connection(&mut self) -> Result<&mut (Reader, WriteHalf<TcpStream>), ExchangeError> {
        if self.conn.is_none() {
            let tcp = TcpStream::connect(&self.target).await.map_err(|source| {
                ExchangeError::Connect {
                    target: self.target.clone(),
                    source,
                }
            })?;
            let _ = tcp.set_nodelay(true);
            let (r, w) = tokio::io::split(tcp);
            self.conn = Some((FramedRead::new(r, self.framing.codec()), w));
        }
        self.conn
            .as_mut()
            .ok_or_else(|| ExchangeError::Io("not connected".into()))
    }

    /// Pack `req` (to the bytes that go on the wire) and unpack them again: the request exactly as the
    /// switch sees it (numeric fields padded), for `*E` comparisons.
    pub fn canonical(&self, req: &IsoMsg) -> Result<(Vec<u8>, IsoMsg), ExchangeError> {
        let mut frame = Vec::new();
        self.framing
            .encode_msg(&self.spec, req, false, &mut frame)
            .map_err(|e| ExchangeError::Pack(e.to_string()))?;
        let packed = self
            .spec
            .pack(req)
            .map_err(|e| ExchangeError::Pack(e.to_string()))?;
        let back = self
            .spec
            .unpack(&packed)
            .map_err(|e| ExchangeError::Pack(e.to_string()))?;
        Ok((frame, back))
    }

    /// Send a framed request and wait up to `timeout` for its response.
    pub async fn exchange(
        &mut self,
        frame: &[u8],
        req: &IsoMsg,
        timeout: Duration,
    ) -> Result<IsoMsg, ExchangeError> {
        let result = tokio::time::timeout(timeout, self.exchange_inner(frame, req)).await;
        match result {
            Ok(Ok(m)) => Ok(m),
            Ok(Err(e)) => {
                self.conn = None;
                Err(e)
            }
            Err(_) => Err(ExchangeError::Timeout(timeout)),
        }
    }

    async fn exchange_inner(
        &mut self,
        frame: &[u8],
        req: &IsoMsg,
    ) -> Result<IsoMsg, ExchangeError> {
        let want_mti = req.mti().response();
        let want_stan = req.get(11).map(<[u8]>::to_vec);
        let spec = Arc::clone(&self.spec);
        let framing = self.framing.clone();
        let (reader, writer) = self.connection().await?;
        writer
            .write_all(frame)
            .await
            .map_err(|e| ExchangeError::Io(e.to_string()))?;
        let mut skipped = 0;
        let result = loop {
            let next = match reader.next().await {
                None => break Err(ExchangeError::Io("closed by the switch".into())),
                Some(Err(e)) => break Err(ExchangeError::Io(e.to_string())),
                Some(Ok(bytes)) => bytes,
            };
            let msg = match framing.decode_msg(&spec, &next) {
                Ok(m) => m,
                Err(e) => break Err(ExchangeError::Io(format!("unreadable response: {e}"))),
            };
            let stan_ok = want_stan.as_deref().is_none_or(|s| msg.get(11) == Some(s));
            if msg.mti() == want_mti && stan_ok {
                break Ok(msg);
            }
            skipped += 1;
        };
        self.stray += skipped;
        result
    }
}
