//! Framings: how one message is delimited on a TCP stream, as tokio-util codecs.
//!
//! - `ascii4`: 4 ASCII digits of length, then the frame (jPOS ASCIIChannel).
//! - `binary2`: 2-byte big-endian length (jPOS NACChannel), usually with a 5-byte TPDU header.
//! - `binary4`: 4-byte big-endian length.
//! - `etx`: the frame then a 0x03 byte, no length (iso8583-web "with suffix").
//!
//! A frame is `header ++ packed message`; the header (a TPDU or fixed bytes) is kept on the message.
//! A length prefix above `max_frame` is an error for that connection only. Zero-length frames are
//! skipped (keep-alives, as jPOS does).

use std::fmt;
use std::str::FromStr;

use bytes::{Buf, BufMut, Bytes, BytesMut};
use tokio_util::codec::{Decoder, Encoder};

use super::error::ChannelError;
use crate::iso::{IsoMsg, Spec};

/// Default maximum frame size in bytes (header + message).
pub const DEFAULT_MAX_FRAME: usize = 16 * 1024;

/// The end-of-text byte that terminates `etx` frames.
pub const ETX: u8 = 0x03;

/// Length of a TPDU header: `0x60`, destination (2), source (2).
pub const TPDU_LEN: usize = 5;

/// How a frame's length is carried.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LengthPrefix {
    /// Four ASCII decimal digits.
    Ascii4,
    /// Two bytes, big-endian.
    Binary2,
    /// Four bytes, big-endian.
    Binary4,
    /// No length: the frame ends with 0x03.
    Etx,
}

impl LengthPrefix {
    /// Name as used in configs and on the command line.
    pub fn name(self) -> &'static str {
        match self {
            LengthPrefix::Ascii4 => "ascii4",
            LengthPrefix::Binary2 => "binary2",
            LengthPrefix::Binary4 => "binary4",
            LengthPrefix::Etx => "etx",
        }
    }

    /// Bytes before the frame.
    fn prefix_len(self) -> usize {
        match self {
            LengthPrefix::Ascii4 | LengthPrefix::Binary4 => 4,
            LengthPrefix::Binary2 => 2,
            LengthPrefix::Etx => 0,
        }
    }

    /// Largest length the prefix can express.
    fn capacity(self) -> usize {
        match self {
            LengthPrefix::Ascii4 => 9999,
            LengthPrefix::Binary2 => 0xFFFF,
            LengthPrefix::Binary4 | LengthPrefix::Etx => u32::MAX as usize,
        }
    }
}

impl fmt::Display for LengthPrefix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for LengthPrefix {
    type Err = ChannelError;
    fn from_str(s: &str) -> Result<Self, ChannelError> {
        match s {
            "ascii4" => Ok(LengthPrefix::Ascii4),
            "binary2" => Ok(LengthPrefix::Binary2),
            "binary4" => Ok(LengthPrefix::Binary4),
            "etx" => Ok(LengthPrefix::Etx),
            other => Err(ChannelError::UnknownFraming(other.to_owned())),
        }
    }
}

/// Header bytes carried before the MTI in every frame.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Header {
    /// No header.
    #[default]
    None,
    /// A 5-byte TPDU; replies get destination and source swapped.
    Tpdu,
    /// Fixed bytes: stripped (and kept on the message) when reading, sent when the message has none.
    Fixed(Bytes),
}

impl Header {
    /// Header length on the wire.
    pub fn len(&self) -> usize {
        match self {
            Header::None => 0,
            Header::Tpdu => TPDU_LEN,
            Header::Fixed(b) => b.len(),
        }
    }

    /// True when frames carry no header.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// A complete framing: length prefix, header and size limit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Framing {
    /// How the length is carried.
    pub prefix: LengthPrefix,
    /// Header before the MTI.
    pub header: Header,
    /// Largest accepted frame (header + message), in bytes.
    pub max_frame: usize,
}

impl Framing {
    /// A framing with no header and the default size limit.
    pub fn new(prefix: LengthPrefix) -> Self {
        Framing {
            prefix,
            header: Header::None,
            max_frame: DEFAULT_MAX_FRAME,
        }
    }

    /// The same framing with a header.
    pub fn with_header(mut self, header: Header) -> Self {
        self.header = header;
        self
    }

    /// The same framing with another size limit.
    pub fn with_max_frame(mut self, max_frame: usize) -> Self {
        self.max_frame = max_frame;
        self
    }

    /// Effective limit: the configured maximum, capped by what the prefix can express.
    pub fn limit(&self) -> usize {
        self.max_frame.min(self.prefix.capacity())
    }

    /// The tokio-util codec for raw frames of this framing.
    pub fn codec(&self) -> FrameCodec {
        FrameCodec {
            framing: self.clone(),
            scanned: 0,
        }
    }

    /// Split a received frame into header and message and unpack the message with `spec`.
    pub fn decode_msg(&self, spec: &Spec, frame: &[u8]) -> Result<IsoMsg, FrameError> {
        let hlen = self.header.len();
        if frame.len() < hlen {
            return Err(FrameError::Short {
                len: frame.len(),
                header: hlen,
            });
        }
        let (header, body) = frame.split_at(hlen);
        let mut msg = spec.unpack(body).map_err(FrameError::Codec)?;
        if hlen > 0 {
            msg.set_header(Some(header));
        }
        Ok(msg)
    }

    /// Append one framed message to `out`: prefix, header, packed message (and ETX).
    ///
    /// The header is the message's own when it has one of the right length, else the configured one. With a
    /// TPDU and `reply` set, destination and source are swapped. On error `out` is left as it was.
    pub fn encode_msg(
        &self,
        spec: &Spec,
        msg: &IsoMsg,
        reply: bool,
        out: &mut Vec<u8>,
    ) -> Result<(), ChannelError> {
        let start = out.len();
        let plen = self.prefix.prefix_len();
        out.resize(start + plen, 0);
        let hlen = self.header.len();
        match (&self.header, msg.header()) {
            (Header::None, _) => {}
            (Header::Tpdu, Some(h)) if h.len() == TPDU_LEN => {
                if reply {
                    out.extend_from_slice(&[h[0], h[3], h[4], h[1], h[2]]);
                } else {
                    out.extend_from_slice(h);
                }
            }
            (Header::Tpdu, _) => out.extend_from_slice(&[0x60, 0, 0, 0, 0]),
            (Header::Fixed(_), Some(h)) if h.len() == hlen => out.extend_from_slice(h),
            (Header::Fixed(b), _) => out.extend_from_slice(b),
        }
        if let Err(source) = spec.pack_into(msg, out) {
            out.truncate(start);
            return Err(ChannelError::Codec {
                peer: format!("pack {}", msg.mti()),
                source,
            });
        }
        let len = out.len() - start - plen;
        if len > self.limit() {
            out.truncate(start);
            return Err(ChannelError::FrameTooLarge {
                framing: self.prefix.name(),
                len,
                max: self.limit(),
            });
        }
        write_prefix(self.prefix, len, &mut out[start..start + plen]);
        if self.prefix == LengthPrefix::Etx {
            out.push(ETX);
        }
        Ok(())
    }
}

impl fmt::Display for Framing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.prefix.name())?;
        match &self.header {
            Header::None => Ok(()),
            Header::Tpdu => f.write_str("+tpdu"),
            Header::Fixed(b) => write!(f, "+header({})", hex::encode_upper(b)),
        }
    }
}

/// Why a received frame could not become a message (the connection may go on).
#[derive(Debug, thiserror::Error)]
pub enum FrameError {
    /// The frame is shorter than its header.
    #[error("frame of {len} bytes is shorter than its {header}-byte header")]
    Short {
        /// Frame length.
        len: usize,
        /// Header length.
        header: usize,
    },
    /// The message could not be unpacked (field, offset and reason inside).
    #[error("{0}")]
    Codec(crate::iso::IsoError),
}

fn write_prefix(prefix: LengthPrefix, len: usize, dst: &mut [u8]) {
    match prefix {
        LengthPrefix::Ascii4 => {
            let mut n = len;
            for d in dst.iter_mut().rev() {
                *d = b'0' + (n % 10) as u8;
                n /= 10;
            }
        }
        LengthPrefix::Binary2 => dst.copy_from_slice(&(len as u16).to_be_bytes()),
        LengthPrefix::Binary4 => dst.copy_from_slice(&(len as u32).to_be_bytes()),
        LengthPrefix::Etx => {}
    }
}

/// Decodes raw frames (header + message, prefix and ETX removed) and encodes raw payloads.
#[derive(Debug, Clone)]
pub struct FrameCodec {
    framing: Framing,
    /// For `etx`: how many buffered bytes are known to hold no ETX.
    scanned: usize,
}

impl FrameCodec {
    /// The framing this codec speaks.
    pub fn framing(&self) -> &Framing {
        &self.framing
    }

    fn too_large(&self, len: usize) -> ChannelError {
        ChannelError::FrameTooLarge {
            framing: self.framing.prefix.name(),
            len,
            max: self.framing.limit(),
        }
    }

    fn decode_etx(&mut self, src: &mut BytesMut) -> Result<Option<Bytes>, ChannelError> {
        loop {
            let Some(i) = src[self.scanned..].iter().position(|&b| b == ETX) else {
                self.scanned = src.len();
                if src.len() > self.framing.limit() {
                    return Err(self.too_large(src.len()));
                }
                return Ok(None);
            };
            let end = self.scanned + i;
            self.scanned = 0;
            if end > self.framing.limit() {
                return Err(self.too_large(end));
            }
            let frame = src.split_to(end).freeze();
            src.advance(1);
            if !frame.is_empty() {
                return Ok(Some(frame));
            }
        }
    }
}

impl Decoder for FrameCodec {
    type Item = Bytes;
    type Error = ChannelError;

    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<Bytes>, ChannelError> {
        let prefix = self.framing.prefix;
        if prefix == LengthPrefix::Etx {
            return self.decode_etx(src);
        }
        let plen = prefix.prefix_len();
        loop {
            if src.len() < plen {
                return Ok(None);
            }
            let p = &src[..plen];
            let len = match prefix {
                LengthPrefix::Ascii4 => {
                    if !p.iter().all(u8::is_ascii_digit) {
                        return Err(ChannelError::BadLengthPrefix {
                            framing: prefix.name(),
                            prefix: p.to_vec(),
                        });
                    }
                    p.iter().fold(0usize, |n, d| n * 10 + usize::from(d - b'0'))
                }
                LengthPrefix::Binary2 => usize::from(u16::from_be_bytes([p[0], p[1]])),
                LengthPrefix::Binary4 => u32::from_be_bytes([p[0], p[1], p[2], p[3]]) as usize,
                LengthPrefix::Etx => 0,
            };
            if len > self.framing.limit() {
                return Err(self.too_large(len));
            }
            if len == 0 {
                src.advance(plen);
                continue;
            }
            if src.len() < plen + len {
                src.reserve(plen + len - src.len());
                return Ok(None);
            }
            src.advance(plen);
            return Ok(Some(src.split_to(len).freeze()));
        }
    }
}

impl Encoder<&[u8]> for FrameCodec {
    type Error = ChannelError;

    /// Frame a payload that already holds header and packed message.
    fn encode(&mut self, item: &[u8], dst: &mut BytesMut) -> Result<(), ChannelError> {
        let prefix = self.framing.prefix;
        if item.len() > self.framing.limit() {
            return Err(self.too_large(item.len()));
        }
        let mut p = [0u8; 4];
        let plen = prefix.prefix_len();
        write_prefix(prefix, item.len(), &mut p[..plen]);
        dst.reserve(plen + item.len() + 1);
        dst.put_slice(&p[..plen]);
        dst.put_slice(item);
        if prefix == LengthPrefix::Etx {
            dst.put_u8(ETX);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> std::sync::Arc<Spec> {
        Spec::builtin("iso87ascii").unwrap()
    }

    fn echo() -> IsoMsg {
        IsoMsg::with_mti("0800")
            .unwrap()
            .with(11, "000001")
            .with(70, "301")
    }

    fn roundtrip(framing: Framing) {
        let spec = spec();
        let mut out = Vec::new();
        framing.encode_msg(&spec, &echo(), false, &mut out).unwrap();
        framing.encode_msg(&spec, &echo(), false, &mut out).unwrap();
        let mut codec = framing.codec();
        // Feed one byte at a time: partial frames must wait, not fail.
        let mut buf = BytesMut::new();
        let mut frames = Vec::new();
        for b in out {
            buf.put_u8(b);
            while let Some(f) = codec.decode(&mut buf).unwrap() {
                frames.push(f);
            }
        }
        assert_eq!(frames.len(), 2, "{framing}");
        let m = framing.decode_msg(&spec, &frames[1]).unwrap();
        assert_eq!(m.get_str(70), Some("301"));
    }

    #[test]
    fn every_framing_round_trips() {
        for p in ["ascii4", "binary2", "binary4", "etx"] {
            roundtrip(Framing::new(p.parse().unwrap()));
        }
        roundtrip(Framing::new(LengthPrefix::Binary2).with_header(Header::Tpdu));
        roundtrip(
            Framing::new(LengthPrefix::Ascii4)
                .with_header(Header::Fixed(Bytes::from_static(b"ISO006000"))),
        );
    }

    #[test]
    fn ascii4_prefix_is_decimal_digits() {
        let mut out = Vec::new();
        Framing::new(LengthPrefix::Ascii4)
            .encode_msg(&spec(), &echo(), false, &mut out)
            .unwrap();
        let len: usize = std::str::from_utf8(&out[..4]).unwrap().parse().unwrap();
        assert_eq!(len, out.len() - 4);
    }

    #[test]
    fn tpdu_is_swapped_on_replies_only() {
        let framing = Framing::new(LengthPrefix::Binary2).with_header(Header::Tpdu);
        let mut m = echo();
        m.set_header(Some(&[0x60, 0x00, 0x01, 0x00, 0x02]));
        let mut out = Vec::new();
        framing.encode_msg(&spec(), &m, true, &mut out).unwrap();
        assert_eq!(&out[2..7], &[0x60, 0x00, 0x02, 0x00, 0x01]);
        out.clear();
        framing.encode_msg(&spec(), &m, false, &mut out).unwrap();
        assert_eq!(&out[2..7], &[0x60, 0x00, 0x01, 0x00, 0x02]);
    }

    #[test]
    fn oversized_and_garbage_prefixes_are_errors() {
        let mut c = Framing::new(LengthPrefix::Binary2)
            .with_max_frame(100)
            .codec();
        let mut buf = BytesMut::from(&[0x00u8, 101][..]);
        assert!(matches!(
            c.decode(&mut buf),
            Err(ChannelError::FrameTooLarge { len: 101, .. })
        ));
        let mut c = Framing::new(LengthPrefix::Ascii4).codec();
        let mut buf = BytesMut::from(&b"00x1"[..]);
        assert!(matches!(
            c.decode(&mut buf),
            Err(ChannelError::BadLengthPrefix { .. })
        ));
        let mut c = Framing::new(LengthPrefix::Etx).with_max_frame(8).codec();
        let mut buf = BytesMut::from(&b"0123456789"[..]);
        assert!(matches!(
            c.decode(&mut buf),
            Err(ChannelError::FrameTooLarge { .. })
        ));
    }

    #[test]
    fn zero_length_frames_are_skipped() {
        let mut c = Framing::new(LengthPrefix::Binary2).codec();
        let mut buf = BytesMut::from(&[0u8, 0, 0, 0, 0, 2, b'h', b'i'][..]);
        assert_eq!(c.decode(&mut buf).unwrap().as_deref(), Some(&b"hi"[..]));
    }

    #[test]
    fn encoder_frames_raw_payloads() {
        let mut c = Framing::new(LengthPrefix::Etx).codec();
        let mut dst = BytesMut::new();
        c.encode(&b"abc"[..], &mut dst).unwrap();
        assert_eq!(&dst[..], b"abc\x03");
        let mut c = Framing::new(LengthPrefix::Binary4).codec();
        let mut dst = BytesMut::new();
        c.encode(&b"abc"[..], &mut dst).unwrap();
        assert_eq!(&dst[..], b"\0\0\0\x03abc");
    }

    #[test]
    fn short_frame_and_bad_message_are_frame_errors() {
        let framing = Framing::new(LengthPrefix::Binary2).with_header(Header::Tpdu);
        assert!(matches!(
            framing.decode_msg(&spec(), b"\x60\0"),
            Err(FrameError::Short { len: 2, header: 5 })
        ));
        assert!(matches!(
            framing.decode_msg(&spec(), b"\x60\0\0\0\0ZZZZ"),
            Err(FrameError::Codec(_))
        ));
    }
}
