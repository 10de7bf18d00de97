//! Helpers shared by the CLI-level integration tests: a `switchyard sim host` child process on a free
//! loopback port, and a blocking CMF client (binary2 framing) for talking to a running switch.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use switchyard::channel::{Framing, LengthPrefix};
use switchyard::iso::{IsoMsg, Spec};

/// The `switchyard` binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_switchyard");

/// A child process killed (and reaped) when dropped.
pub struct Host(pub Child);

impl Drop for Host {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Start `sim host` on a free 127.0.0.1 port with `args` (framing, spec ...); returns the process
/// and the address it printed (`listening on ADDR`).
pub fn start_host(args: &[&str]) -> (Host, String) {
    let mut child = Command::new(BIN)
        .args(["sim", "host", "--listen", "127.0.0.1:0", "--threads", "1"])
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn sim host");
    let stdout = child.stdout.take().expect("stdout");
    let host = Host(child);
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line).expect("read");
    let addr = line
        .trim()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
        .to_owned();
    (host, addr)
}

/// A blocking CMF client over binary2 framing, reads bounded by a timeout.
pub struct CmfClient {
    tcp: TcpStream,
    spec: Arc<Spec>,
    framing: Framing,
}

impl CmfClient {
    /// Connect to 127.0.0.1:`port`; every read waits at most `timeout`.
    pub fn connect(port: u16, timeout: Duration) -> CmfClient {
        let tcp = TcpStream::connect(("127.0.0.1", port)).expect("connect");
        tcp.set_read_timeout(Some(timeout)).expect("timeout");
        CmfClient {
            tcp,
            spec: Spec::builtin("cmf").expect("cmf"),
            framing: Framing::new(LengthPrefix::Binary2),
        }
    }

    /// Send one message.
    pub fn send(&mut self, msg: &IsoMsg) {
        let mut buf = Vec::new();
        self.framing
            .encode_msg(&self.spec, msg, false, &mut buf)
            .expect("pack");
        self.tcp.write_all(&buf).expect("send");
    }

    /// Read one message.
    pub fn recv(&mut self) -> IsoMsg {
        let mut len = [0u8; 2];
        self.tcp.read_exact(&mut len).expect("length prefix");
        let mut frame = vec![0u8; usize::from(u16::from_be_bytes(len))];
        self.tcp.read_exact(&mut frame).expect("frame");
        self.framing.decode_msg(&self.spec, &frame).expect("unpack")
    }

    /// Send `msg` and read the next message.
    pub fn call(&mut self, msg: &IsoMsg) -> IsoMsg {
        self.send(msg);
        self.recv()
    }
}
