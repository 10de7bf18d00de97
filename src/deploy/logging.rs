//! Process-wide logging with `tracing-subscriber`, reconfigurable at runtime: the `logger` kind sets
//! the format (human or JSON), the per-target levels (EnvFilter syntax) and an optional file, which
//! SIGHUP reopens (for logrotate). Before any logger is deployed: human, `info`, stderr.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use parking_lot::Mutex;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::{Layered, SubscriberExt};
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{reload, EnvFilter, Layer, Registry};

type Filtered = Layered<reload::Layer<EnvFilter, Registry>, Registry>;
type FormatLayer = Box<dyn Layer<Filtered> + Send + Sync>;

/// Output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// One readable line per event, with the span fields.
    #[default]
    Human,
    /// One JSON object per event.
    Json,
}

/// Where log lines go: the open file, else stderr.
#[derive(Clone, Default)]
struct Sink {
    file: Arc<Mutex<Option<(PathBuf, File)>>>,
}

impl Write for Sink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let mut f = self.file.lock();
        match f.as_mut() {
            Some((_, file)) => file.write_all(buf).map(|()| buf.len()),
            None => std::io::stderr().write_all(buf).map(|()| buf.len()),
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for Sink {
    type Writer = Sink;
    fn make_writer(&'a self) -> Sink {
        self.clone()
    }
}

/// Handles to the installed subscriber.
pub struct LogControl {
    filter: reload::Handle<EnvFilter, Registry>,
    format: reload::Handle<FormatLayer, Filtered>,
    sink: Sink,
}

static CONTROL: OnceLock<Option<Arc<LogControl>>> = OnceLock::new();

fn format_layer(format: LogFormat, sink: Sink) -> FormatLayer {
    match format {
        LogFormat::Human => tracing_subscriber::fmt::layer()
            .with_ansi(false)
            .with_writer(sink)
            .boxed(),
        LogFormat::Json => tracing_subscriber::fmt::layer()
            .json()
            .with_current_span(true)
            .with_span_list(false)
            .with_writer(sink)
            .boxed(),
    }
}

/// Install the process-wide subscriber once (human, `info`, stderr); `None` if another one is set.
pub fn init() -> Option<Arc<LogControl>> {
    CONTROL
        .get_or_init(|| {
            let sink = Sink::default();
            let (filter, filter_handle) = reload::Layer::new(EnvFilter::new("info"));
            let (format, format_handle) =
                reload::Layer::new(format_layer(LogFormat::Human, sink.clone()));
            let ok = tracing_subscriber::registry()
                .with(filter)
                .with(format)
                .try_init()
                .is_ok();
            ok.then(|| {
                Arc::new(LogControl {
                    filter: filter_handle,
                    format: format_handle,
                    sink,
                })
            })
        })
        .clone()
}

impl LogControl {
    /// Switch format, levels and file; nothing changes if any part is invalid.
    pub fn apply(&self, format: LogFormat, level: &str, file: Option<&Path>) -> Result<(), String> {
        let filter = EnvFilter::try_new(level).map_err(|e| format!("level {level:?}: {e}"))?;
        let opened = match file {
            Some(p) => Some((p.to_owned(), open(p)?)),
            None => None,
        };
        *self.sink.file.lock() = opened;
        self.filter.reload(filter).map_err(|e| e.to_string())?;
        self.format
            .reload(format_layer(format, self.sink.clone()))
            .map_err(|e| e.to_string())
    }

    /// Back to the defaults (human, `info`, stderr).
    pub fn reset(&self) {
        let _ = self.apply(LogFormat::Human, "info", None);
    }

    /// Reopen the log file (after rotation); a no-op when logging to stderr.
    pub fn reopen(&self) {
        let mut f = self.sink.file.lock();
        if let Some((path, file)) = f.as_mut() {
            match open(path) {
                Ok(new) => *file = new,
                Err(e) => eprintln!("cannot reopen log file: {e}"),
            }
        }
    }
}

fn open(path: &Path) -> Result<File, String> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    }
    OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(|e| format!("{}: {e}", path.display()))
}
