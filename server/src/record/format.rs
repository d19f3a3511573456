//! The recording file format (`.bgrec`): what a block holds, how blocks are
//! framed and checked, and a reader that refuses a truncated or damaged
//! file with an error saying where and why.
//!
//! A file is the 8-byte [`MAGIC`], the format version (`u16`, little
//! endian), then blocks. Each block is a kind byte, the payload's length
//! (`u32` LE), the XXH3-64 of kind, length and payload (`u64` LE), then
//! the payload: one
//! value in the wire format's encoding (`battlegrid_protocol::codec`'s
//! records). The first block is the [`Header`]; then come checkpoints and
//! tick records; the last is [`Block::End`]. A length is checked against
//! [`MAX_BLOCK_LEN`] before anything is read into memory, and a payload is
//! read only as far as the file goes, so a damaged length costs nothing.
//! The format version changes whenever the framing or any block's layout
//! does; a reader refuses other versions rather than misread them.

use std::io::{self, Read, Write};

use battlegrid_protocol::codec::{CodecError, decode_record, encode_record};
use battlegrid_sim::checkpoint::MapData;
use battlegrid_sim::{Checkpoint, Input, TickOutput};
use serde::{Deserialize, Serialize};
use xxhash_rust::xxh3::Xxh3;

/// The first bytes of every recording (`\r\n` and `\x1a` catch files that
/// went through a text-mode transfer).
pub const MAGIC: [u8; 8] = *b"BGREC\r\n\x1a";

/// The version of the framing and block layouts this build reads and
/// writes.
pub const FORMAT_VERSION: u16 = 1;

/// Largest block payload, in bytes (a checkpoint of a very full world).
pub const MAX_BLOCK_LEN: u32 = battlegrid_protocol::codec::MAX_RECORD_LEN as u32;

/// Bytes of a block's frame before its payload: kind, length, hash.
pub const BLOCK_HEAD_LEN: usize = 1 + 4 + 8;

/// What made the file and under which rules.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Header {
    /// `battlegrid_protocol::PROTOCOL_VERSION` of the recording build: the
    /// encoding of the outputs that were hashed.
    pub protocol_version: u16,
    /// `battlegrid_sim::SIM_VERSION` of the recording build: the rules.
    pub sim_version: u32,
    /// The recording build's package version (informative).
    pub build: String,
    /// The map the world simulated.
    pub map: String,
    /// When the file was started, milliseconds since the Unix epoch.
    pub created_unix_ms: u64,
    /// A recording switched on by config or the admin API, or a crash dump
    /// of the flight recorder.
    pub kind: FileKind,
    /// Ticks per second the world ran at.
    pub tick_rate_hz: u16,
}

/// Why a file was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum FileKind {
    /// A recording that was switched on.
    Recording,
    /// The flight recorder's last seconds of a world whose step panicked.
    Crash,
}

/// Where a checkpoint stands in the stream of ticks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum CheckpointKind {
    /// Taken while the world ran on: a replay that got here must be in
    /// exactly this state (it is compared).
    Periodic,
    /// The world starts here: it was created, rebuilt after a panic, or the
    /// stream before it is incomplete. A replay continues from it.
    Fresh,
}

/// Something that happened to a world between two ticks besides inputs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum TickEvent {
    /// The map file changed and this version was swapped in.
    MapReplaced(MapData),
    /// A fault injected by a test (cargo feature `fault-injection`) made
    /// this tick's step panic; it lives outside the simulation, so the
    /// replay raises it again from this note.
    InjectedFault(String),
}

/// How a tick ended.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Outcome {
    /// It ran; the hash of its outputs ([`output_hash`]).
    Ran {
        /// XXH3-64 of the outputs.
        hash: u64,
        /// Envelopes it produced (for the report).
        envelopes: u32,
    },
    /// Its step panicked with this message.
    Panicked(String),
}

/// One tick of one world.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TickRecord {
    /// The tick's number.
    pub tick: u64,
    /// What happened before the inputs, in order.
    pub events: Vec<TickEvent>,
    /// The inputs queued for the tick, in order.
    pub inputs: Vec<Input>,
    /// How it ended.
    pub outcome: Outcome,
}

/// One block of a file.
#[derive(Debug, Clone, PartialEq)]
pub enum Block {
    /// The file's first block.
    Header(Header),
    /// A world's state after the tick it names.
    Checkpoint(CheckpointKind, Box<Checkpoint>),
    /// A tick.
    Tick(TickRecord),
    /// The last block; the file is complete.
    End {
        /// Tick records in the file.
        ticks: u64,
    },
}

const KIND_HEADER: u8 = 1;
const KIND_CHECKPOINT: u8 = 2;
const KIND_TICK: u8 = 3;
const KIND_END: u8 = 4;

/// Why a file cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum FormatError {
    /// Reading failed.
    #[error("reading the recording: {0}")]
    Io(#[from] io::Error),
    /// The magic bytes are wrong.
    #[error("not a battlegrid recording (its first bytes are not the .bgrec magic)")]
    NotARecording,
    /// Another format version.
    #[error(
        "recording format version {found}; this build reads version {FORMAT_VERSION} only \
         (use the battlegrid build that wrote it)"
    )]
    FormatVersion {
        /// The file's version.
        found: u16,
    },
    /// The file ends inside a block or before its end block.
    #[error("truncated at byte {offset}: {what}")]
    Truncated {
        /// Where the missing part starts.
        offset: u64,
        /// What is missing.
        what: String,
    },
    /// A block's payload does not match its hash.
    #[error("corrupted block at byte {offset}: its checksum does not match its contents")]
    Checksum {
        /// Where the block starts.
        offset: u64,
    },
    /// A block's length is over the limit.
    #[error("corrupted block at byte {offset}: length {len} exceeds the limit of {MAX_BLOCK_LEN}")]
    TooLong {
        /// Where the block starts.
        offset: u64,
        /// Its claimed length.
        len: u32,
    },
    /// A block's kind or payload is invalid although its checksum matched.
    #[error("invalid block at byte {offset}: {what}")]
    Invalid {
        /// Where the block starts.
        offset: u64,
        /// What is wrong.
        what: String,
    },
}

/// Writes the magic and format version.
pub fn write_preamble(out: &mut impl Write) -> io::Result<()> {
    out.write_all(&MAGIC)?;
    out.write_all(&FORMAT_VERSION.to_le_bytes())
}

/// `block` framed, appended to `out`.
pub fn encode_block(block: &Block, out: &mut Vec<u8>) -> Result<(), CodecError> {
    let start = out.len();
    out.extend_from_slice(&[0; BLOCK_HEAD_LEN]);
    let kind = match block {
        Block::Header(h) => {
            encode_record(h, out)?;
            KIND_HEADER
        }
        Block::Checkpoint(kind, c) => {
            encode_record(&(kind, c), out)?;
            KIND_CHECKPOINT
        }
        Block::Tick(t) => {
            encode_record(t, out)?;
            KIND_TICK
        }
        Block::End { ticks } => {
            encode_record(ticks, out)?;
            KIND_END
        }
    };
    let payload = &out[start + BLOCK_HEAD_LEN..];
    let len = payload.len() as u32;
    let hash = block_hash(kind, len, payload);
    out[start] = kind;
    out[start + 1..start + 5].copy_from_slice(&len.to_le_bytes());
    out[start + 5..start + BLOCK_HEAD_LEN].copy_from_slice(&hash.to_le_bytes());
    Ok(())
}

/// A block-by-block reader of a recording.
pub struct Reader<R> {
    input: R,
    offset: u64,
    header: Header,
    ended: bool,
}

impl<R: Read> Reader<R> {
    /// Checks the magic and version and reads the header.
    pub fn new(mut input: R) -> Result<Self, FormatError> {
        let mut preamble = [0u8; 10];
        let got = read_up_to(&mut input, &mut preamble)?;
        if got < MAGIC.len() || preamble[..MAGIC.len()] != MAGIC {
            return Err(FormatError::NotARecording);
        }
        if got < preamble.len() {
            return Err(FormatError::Truncated {
                offset: got as u64,
                what: "the format version is missing".into(),
            });
        }
        let found = u16::from_le_bytes([preamble[8], preamble[9]]);
        if found != FORMAT_VERSION {
            return Err(FormatError::FormatVersion { found });
        }
        let mut reader = Self {
            input,
            offset: preamble.len() as u64,
            header: Header {
                protocol_version: 0,
                sim_version: 0,
                build: String::new(),
                map: String::new(),
                created_unix_ms: 0,
                kind: FileKind::Recording,
                tick_rate_hz: 0,
            },
            ended: false,
        };
        match reader.next_block()? {
            Some(Block::Header(header)) => reader.header = header,
            _ => {
                return Err(FormatError::Invalid {
                    offset: preamble.len() as u64,
                    what: "the first block is not the header".into(),
                });
            }
        }
        Ok(reader)
    }

    /// The file's header.
    pub fn header(&self) -> &Header {
        &self.header
    }

    /// The next block after the header; `None` after the end block. A
    /// file that stops before its end block is [`FormatError::Truncated`].
    pub fn next_block(&mut self) -> Result<Option<Block>, FormatError> {
        if self.ended {
            return Ok(None);
        }
        let at = self.offset;
        let mut head = [0u8; BLOCK_HEAD_LEN];
        let got = read_up_to(&mut self.input, &mut head)?;
        if got < BLOCK_HEAD_LEN {
            return Err(FormatError::Truncated {
                offset: at + got as u64,
                what: if got == 0 {
                    "the file ends without its end block (the writer stopped before closing it)"
                        .into()
                } else {
                    format!("a block's frame is cut after {got} of {BLOCK_HEAD_LEN} bytes")
                },
            });
        }
        let kind = head[0];
        let len = u32::from_le_bytes([head[1], head[2], head[3], head[4]]);
        let mut hash = [0u8; 8];
        hash.copy_from_slice(&head[5..]);
        let hash = u64::from_le_bytes(hash);
        if len > MAX_BLOCK_LEN {
            return Err(FormatError::TooLong { offset: at, len });
        }
        // Grows with the data actually present: a damaged length does not
        // allocate what the file does not have.
        let mut payload = Vec::new();
        let read = (&mut self.input)
            .take(u64::from(len))
            .read_to_end(&mut payload)?;
        if read < len as usize {
            return Err(FormatError::Truncated {
                offset: at + (BLOCK_HEAD_LEN + read) as u64,
                what: format!("a block of {len} bytes is cut after {read}"),
            });
        }
        if block_hash(kind, len, &payload) != hash {
            return Err(FormatError::Checksum { offset: at });
        }
        self.offset = at + (BLOCK_HEAD_LEN + payload.len()) as u64;
        let invalid = |e: CodecError| FormatError::Invalid {
            offset: at,
            what: e.to_string(),
        };
        let block = match kind {
            KIND_HEADER => Block::Header(decode_record(&payload).map_err(invalid)?),
            KIND_CHECKPOINT => {
                let (kind, checkpoint) = decode_record(&payload).map_err(invalid)?;
                Block::Checkpoint(kind, checkpoint)
            }
            KIND_TICK => Block::Tick(decode_record(&payload).map_err(invalid)?),
            KIND_END => {
                self.ended = true;
                Block::End {
                    ticks: decode_record(&payload).map_err(invalid)?,
                }
            }
            other => {
                return Err(FormatError::Invalid {
                    offset: at,
                    what: format!("unknown block kind {other}"),
                });
            }
        };
        Ok(Some(block))
    }
}

/// A block's checksum: XXH3-64 of its kind, length and payload, so that
/// a damaged frame is caught like a damaged payload.
fn block_hash(kind: u8, len: u32, payload: &[u8]) -> u64 {
    let mut hasher = Xxh3::new();
    hasher.update(&[kind]);
    hasher.update(&len.to_le_bytes());
    hasher.update(payload);
    hasher.digest()
}

/// Reads until `buf` is full or the input ends; how many bytes were read.
fn read_up_to(input: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut got = 0;
    while got < buf.len() {
        match input.read(&mut buf[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(got)
}

/// The hash a tick record keeps of a tick's outputs: XXH3-64 over the
/// tick number, every envelope (recipient, delivery, length, bytes, in
/// order), the saves and the analytics events (in the record encoding).
/// Any difference in any message a client would get changes it.
pub fn output_hash(output: &TickOutput) -> u64 {
    let mut hasher = Xxh3::new();
    hasher.update(&output.tick.to_le_bytes());
    hasher.update(&(output.outbox.len() as u64).to_le_bytes());
    for envelope in &output.outbox {
        hasher.update(&envelope.to.0.to_le_bytes());
        hasher.update(&[match envelope.delivery {
            battlegrid_sim::Delivery::Reliable => 0,
            battlegrid_sim::Delivery::Datagram => 1,
        }]);
        hasher.update(&(envelope.bytes.len() as u64).to_le_bytes());
        hasher.update(&envelope.bytes);
    }
    let mut rest = Vec::new();
    // Plain data: encoding it cannot fail.
    let _ = encode_record(&(&output.saves, &output.analytics), &mut rest);
    hasher.update(&rest);
    hasher.digest()
}

#[cfg(test)]
mod tests;
