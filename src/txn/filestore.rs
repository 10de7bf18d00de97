//! `file:PATH` recovery store: an append-only JSON-lines log, fsync'd in groups, compacted on clean stop.
//!
//! One writer thread owns the file. Appenders queue a record (bounded channel) and wait for its batch's
//! `fdatasync`, so concurrent transactions share one sync. A torn last line (crash mid-write) is cut off
//! on open; a bad line anywhere else is reported as corruption.

use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};

use async_trait::async_trait;
use tokio::sync::{mpsc, oneshot};

use super::recovery::{Record, RecoveredState, RecoveryError, RecoveryStore};

/// Records waiting for the writer at most; appenders wait beyond this.
const QUEUE: usize = 4096;

enum Cmd {
    Append(Vec<u8>, oneshot::Sender<std::io::Result<()>>),
    Compact(u64, oneshot::Sender<std::io::Result<()>>),
}

/// The file-backed recovery store.
pub struct FileStore {
    path: PathBuf,
    loaded: RecoveredState,
    tx: mpsc::Sender<Cmd>,
}

impl FileStore {
    /// Open (creating if needed) the log at `path`, reading what it holds.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, RecoveryError> {
        let path = path.as_ref().to_path_buf();
        let io = |source| RecoveryError::Io {
            store: path.display().to_string(),
            source,
        };
        let (records, good_len) = read_log(&path)?;
        let file = OpenOptions::new()
            .create(true)
            .read(true)
            .append(true)
            .open(&path)
            .map_err(io)?;
        if file.metadata().map_err(io)?.len() != good_len {
            file.set_len(good_len).map_err(io)?;
            file.sync_data().map_err(io)?;
        }
        let loaded = RecoveredState::replay(records);
        let (tx, rx) = mpsc::channel(QUEUE);
        let writer_path = path.clone();
        std::thread::Builder::new()
            .name("txn-recovery-log".into())
            .spawn(move || writer(writer_path, file, rx))
            .map_err(io)?;
        Ok(FileStore { path, loaded, tx })
    }

    /// Read the log at `path` without opening it for writing (for tools and tests).
    pub fn inspect(path: impl AsRef<Path>) -> Result<RecoveredState, RecoveryError> {
        read_log(path.as_ref()).map(|(records, _)| RecoveredState::replay(records))
    }

    fn name(&self) -> String {
        self.path.display().to_string()
    }

    async fn call(
        &self,
        make: impl FnOnce(oneshot::Sender<std::io::Result<()>>) -> Cmd,
    ) -> Result<(), RecoveryError> {
        let (ack, done) = oneshot::channel();
        self.tx
            .send(make(ack))
            .await
            .map_err(|_| RecoveryError::Closed(self.name()))?;
        match done.await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(source)) => Err(RecoveryError::Io {
                store: self.name(),
                source,
            }),
            Err(_) => Err(RecoveryError::Closed(self.name())),
        }
    }
}

/// Parse the log; returns the records and the byte length of the well-formed prefix.
fn read_log(path: &Path) -> Result<(Vec<Record>, u64), RecoveryError> {
    let store = path.display().to_string();
    let file = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok((Vec::new(), 0)),
        Err(source) => return Err(RecoveryError::Io { store, source }),
    };
    let mut reader = BufReader::new(file);
    let mut records = Vec::new();
    let mut good = 0u64;
    let mut line = Vec::new();
    let mut lineno = 0;
    loop {
        line.clear();
        let n = reader
            .read_until(b'\n', &mut line)
            .map_err(|source| RecoveryError::Io {
                store: store.clone(),
                source,
            })?;
        if n == 0 {
            break;
        }
        lineno += 1;
        let complete = line.last() == Some(&b'\n');
        match serde_json::from_slice::<Record>(&line) {
            Ok(r) if complete => {
                records.push(r);
                good += n as u64;
            }
            Ok(_) => break,
            Err(e) => {
                // Only the final line may be torn by a crash; anything after it means real damage.
                let mut rest = Vec::new();
                let more =
                    reader
                        .read_until(b'\n', &mut rest)
                        .map_err(|source| RecoveryError::Io {
                            store: store.clone(),
                            source,
                        })?;
                if more == 0 {
                    break;
                }
                return Err(RecoveryError::Corrupt {
                    store,
                    line: lineno,
                    reason: e.to_string(),
                });
            }
        }
    }
    Ok((records, good))
}

fn writer(path: PathBuf, mut file: File, mut rx: mpsc::Receiver<Cmd>) {
    let mut acks = Vec::new();
    let mut buf = Vec::new();
    while let Some(first) = rx.blocking_recv() {
        let mut next = Some(first);
        while let Some(cmd) = next.take() {
            match cmd {
                Cmd::Append(bytes, ack) => {
                    buf.extend_from_slice(&bytes);
                    acks.push(ack);
                }
                Cmd::Compact(next_id, ack) => {
                    let flushed = flush(&mut file, &mut buf);
                    finish(&mut acks, &flushed);
                    let r = flushed.and_then(|()| compact(&path, next_id)).map(|f| {
                        file = f;
                    });
                    let _ = ack.send(r);
                }
            }
            if let Ok(more) = rx.try_recv() {
                next = Some(more);
            }
        }
        let r = flush(&mut file, &mut buf);
        finish(&mut acks, &r);
    }
}

fn flush(file: &mut File, buf: &mut Vec<u8>) -> std::io::Result<()> {
    if buf.is_empty() {
        return Ok(());
    }
    let r = file.write_all(buf).and_then(|()| file.sync_data());
    buf.clear();
    r
}

fn finish(acks: &mut Vec<oneshot::Sender<std::io::Result<()>>>, r: &std::io::Result<()>) {
    for ack in acks.drain(..) {
        let _ = ack.send(match r {
            Ok(()) => Ok(()),
            Err(e) => Err(std::io::Error::new(e.kind(), e.to_string())),
        });
    }
}

/// Write a fresh log holding only the high-water mark and atomically swap it in.
fn compact(path: &Path, next_id: u64) -> std::io::Result<File> {
    let tmp = path.with_extension("compact");
    let mut line =
        serde_json::to_vec(&Record::HighWater { next_id }).map_err(std::io::Error::other)?;
    line.push(b'\n');
    {
        let mut f = File::create(&tmp)?;
        f.write_all(&line)?;
        f.sync_all()?;
    }
    std::fs::rename(&tmp, path)?;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        File::open(dir)?.sync_all()?;
    }
    OpenOptions::new().append(true).open(path)
}

#[async_trait]
impl RecoveryStore for FileStore {
    async fn load(&self) -> Result<RecoveredState, RecoveryError> {
        Ok(self.loaded.clone())
    }

    async fn append(&self, record: Record) -> Result<(), RecoveryError> {
        let mut line = serde_json::to_vec(&record).map_err(|e| RecoveryError::Io {
            store: self.name(),
            source: std::io::Error::other(e),
        })?;
        line.push(b'\n');
        self.call(|ack| Cmd::Append(line, ack)).await
    }

    async fn compact(&self, next_id: u64) -> Result<(), RecoveryError> {
        self.call(|ack| Cmd::Compact(next_id, ack)).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::txn::recovery::{Snapshot, TxnState};

    fn snap(id: u64) -> Record {
        Record::Snapshot(Snapshot {
            id,
            state: TxnState::Preparing,
            members: vec![],
            entries: Default::default(),
        })
    }

    #[tokio::test]
    async fn appends_survive_reopen_and_compaction_keeps_high_water() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("txn.log");
        {
            let store = FileStore::open(&path).expect("open");
            store.append(snap(1)).await.expect("append");
            store.append(snap(2)).await.expect("append");
            store.append(Record::Done { id: 1 }).await.expect("append");
        }
        let store = FileStore::open(&path).expect("reopen");
        let state = store.load().await.expect("load");
        assert_eq!(
            state.unfinished.iter().map(|s| s.id).collect::<Vec<_>>(),
            [2]
        );
        assert_eq!(state.next_id, 3);
        store.compact(50).await.expect("compact");
        store
            .append(snap(60))
            .await
            .expect("append after compaction");
        drop(store);
        let state = FileStore::open(&path)
            .expect("reopen")
            .load()
            .await
            .expect("load");
        assert_eq!(state.next_id, 61);
        assert_eq!(state.unfinished.len(), 1);
    }

    #[tokio::test]
    async fn torn_last_line_is_cut_but_middle_corruption_is_reported() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("txn.log");
        let good = serde_json::to_string(&snap(1)).expect("json");
        std::fs::write(&path, format!("{good}\n{{\"t\":\"snap")).expect("write");
        let store = FileStore::open(&path).expect("torn tail is fine");
        assert_eq!(store.load().await.expect("load").unfinished.len(), 1);
        store.append(Record::Done { id: 1 }).await.expect("append");
        drop(store);
        let state = FileStore::open(&path)
            .expect("reopen")
            .load()
            .await
            .expect("load");
        assert!(
            state.unfinished.is_empty(),
            "append after a cut tail starts on a clean line"
        );

        std::fs::write(&path, format!("garbage\n{good}\n")).expect("write");
        assert!(matches!(
            FileStore::open(&path),
            Err(RecoveryError::Corrupt { line: 1, .. })
        ));
    }
}
