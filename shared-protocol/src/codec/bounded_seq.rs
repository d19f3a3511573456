//! Deserialising sequences whose claimed length cannot cost memory.
//!
//! bincode checks a *string's* length against the decode limit before
//! allocating, but hands a *sequence's* length to serde unchecked, and serde's
//! `Vec` preallocates up to 1 MiB on that claim alone: a 12-byte
//! `EntitiesLeft` claiming 2^60 ids would cost a megabyte before failing. The
//! message types route their `Vec` fields through [`deserialize`], which
//! rejects a claim longer than a whole message could hold (every element
//! takes at least one byte) and preallocates at most [`PREALLOC_BYTES`].
//! The wire format is unchanged; only what decoding risks is.

use std::fmt;
use std::marker::PhantomData;

use serde::de::{Deserialize, Deserializer, Error, SeqAccess, Visitor};

use super::MAX_MESSAGE_LEN;

/// Most memory reserved up front for a decoded sequence; longer genuine
/// sequences grow as their elements actually arrive.
const PREALLOC_BYTES: usize = 16 * 1024;

/// `#[serde(deserialize_with = ...)]` target for `Vec` fields of messages.
pub(crate) fn deserialize<'de, D, T>(deserializer: D) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    deserializer.deserialize_seq(BoundedVec(PhantomData))
}

struct BoundedVec<T>(PhantomData<T>);

impl<'de, T: Deserialize<'de>> Visitor<'de> for BoundedVec<T> {
    type Value = Vec<T>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "a sequence of at most {MAX_MESSAGE_LEN} elements")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<T>, A::Error> {
        let claimed = seq.size_hint().unwrap_or(0);
        if claimed > MAX_MESSAGE_LEN {
            return Err(A::Error::invalid_length(claimed, &self));
        }
        let element_size = std::mem::size_of::<T>().max(1);
        let mut out = Vec::with_capacity(claimed.min(PREALLOC_BYTES / element_size));
        while let Some(element) = seq.next_element()? {
            out.push(element);
        }
        Ok(out)
    }
}
