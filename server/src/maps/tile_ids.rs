//! Which global tile ids a map's tilesets define, for the guard to check
//! every id that tile layer data and tile objects use.
//!
//! `tiled` looks an id up in the last tileset whose `firstgid` is not above
//! it and never checks the tileset holds that tile: an id past the end of
//! every tileset becomes a tile with no properties, which battlegrid would
//! treat as walkable, and an id below the first tileset becomes an empty
//! tile. Tilesets whose id ranges overlap or go backwards make the lookup
//! pick the wrong tileset. All of these are refused here instead.
//!
//! A tileset holds the local ids `0..tilecount` (an image tileset) and any
//! id it declares with a `<tile id>` element (an image-collection tileset
//! keeps the ids of tiles since removed, so its ids can exceed its count).

/// The three flip bits Tiled stores in the high bits of a global id; `tiled`
/// strips exactly these.
const FLIP_FLAGS: u32 = 0xE000_0000;

/// The id ranges of the tilesets seen so far, in file order.
#[derive(Debug, Default)]
pub(crate) struct TileIds {
    closed: Vec<Tileset>,
    /// The tileset whose element is being read.
    open: Option<Tileset>,
}

#[derive(Debug)]
struct Tileset {
    name: String,
    first_gid: u32,
    tilecount: u32,
    /// Local ids declared by `<tile id>`, sorted once the tileset closes.
    declared: Vec<u32>,
}

impl Tileset {
    /// How many global ids the tileset takes, from `first_gid` on.
    fn span(&self) -> u64 {
        let past_declared = self
            .declared
            .iter()
            .max()
            .map_or(0, |&id| u64::from(id) + 1);
        u64::from(self.tilecount).max(past_declared)
    }

    fn holds(&self, local: u32) -> bool {
        local < self.tilecount || self.declared.binary_search(&local).is_ok()
    }

    fn describe(&self) -> String {
        let last = u64::from(self.first_gid) + self.span();
        if last == u64::from(self.first_gid) {
            format!("\"{}\" holds no tiles", self.name)
        } else {
            format!(
                "\"{}\" holds ids {} to {}",
                self.name,
                self.first_gid,
                last - 1
            )
        }
    }
}

impl TileIds {
    /// A `<tileset>` element starts; checks its range against the previous
    /// tileset's.
    pub fn open(&mut self, name: String, first_gid: u32, tilecount: u32) -> Result<(), String> {
        self.close();
        if first_gid == 0 {
            return Err(format!(
                "the tileset \"{name}\" has firstgid 0; global tile ids start at 1 (0 is the empty tile)"
            ));
        }
        if let Some(previous) = self.closed.last() {
            let end = u64::from(previous.first_gid) + previous.span();
            if u64::from(first_gid) < end {
                return Err(format!(
                    "the tileset \"{name}\" starts at id {first_gid}, inside the ids of the tileset before it ({}); tilesets' ids must not overlap",
                    previous.describe()
                ));
            }
        }
        self.open = Some(Tileset {
            name,
            first_gid,
            tilecount,
            declared: Vec::new(),
        });
        Ok(())
    }

    /// A `<tile id>` inside the open tileset.
    pub fn declare(&mut self, local: u32) {
        if let Some(open) = self.open.as_mut() {
            open.declared.push(local);
        }
    }

    /// The open tileset's element ends.
    pub fn close(&mut self) {
        if let Some(mut open) = self.open.take() {
            open.declared.sort_unstable();
            open.declared.dedup();
            self.closed.push(open);
        }
    }

    /// Checks the raw value of a layer cell or tile object (flip bits
    /// included); 0 is the empty tile. The error says which id and what the
    /// tilesets hold.
    pub fn check(&self, raw: u32) -> Result<(), String> {
        let gid = raw & !FLIP_FLAGS;
        if gid == 0 {
            return Ok(());
        }
        let found = self
            .closed
            .iter()
            .rev()
            .find(|t| t.first_gid <= gid)
            .is_some_and(|t| t.holds(gid - t.first_gid));
        if found {
            return Ok(());
        }
        if self.closed.is_empty() {
            return Err(format!(
                "the tile id {gid} is used, but the map has no tileset (before this point); add the tileset the tiles come from"
            ));
        }
        let mut held: Vec<String> = self.closed.iter().take(4).map(Tileset::describe).collect();
        if self.closed.len() > held.len() {
            held.push(format!("and {} more", self.closed.len() - held.len()));
        }
        Err(format!(
            "no tileset defines the tile id {gid} (tileset {}); was a tileset shrunk or removed after the tile was placed?",
            held.join(", ")
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(sets: &[(&str, u32, u32, &[u32])]) -> TileIds {
        let mut ids = TileIds::default();
        for (name, first, count, declared) in sets {
            ids.open((*name).to_owned(), *first, *count).unwrap();
            for &d in *declared {
                ids.declare(d);
            }
        }
        ids.close();
        ids
    }

    /// Ids inside an image tileset's count pass, with or without flip bits;
    /// past its end or below the first tileset they do not.
    #[test]
    fn ids_must_fall_in_a_tileset() {
        let ids = ids(&[("a", 1, 4, &[]), ("b", 10, 2, &[])]);
        for ok in [0, 1, 4, 10, 11, 4 | 0x8000_0000, 1 | FLIP_FLAGS] {
            assert_eq!(ids.check(ok), Ok(()), "{ok}");
        }
        for bad in [5, 9, 12, 999_999, 12 | 0x4000_0000, 0x1000_0001] {
            let err = ids.check(bad).unwrap_err();
            assert!(
                err.contains(&format!("tile id {}", bad & !FLIP_FLAGS)),
                "{err}"
            );
            assert!(err.contains("\"a\" holds ids 1 to 4"), "{err}");
        }
        let late = self::ids(&[("a", 5, 4, &[])]);
        assert!(late.check(3).is_err());
        assert!(
            TileIds::default()
                .check(1)
                .unwrap_err()
                .contains("no tileset")
        );
    }

    /// An image collection's declared ids count, also past its tilecount.
    #[test]
    fn declared_ids_count() {
        let ids = ids(&[("c", 1, 2, &[0, 7])]);
        assert_eq!(ids.check(8), Ok(()));
        assert_eq!(ids.check(2), Ok(()));
        assert!(ids.check(5).is_err());
    }

    /// Overlapping or backwards ranges and firstgid 0 are refused.
    #[test]
    fn ranges_must_not_overlap() {
        let mut ids = TileIds::default();
        assert!(ids.open("z".into(), 0, 4).is_err());
        ids.open("a".into(), 1, 4).unwrap();
        assert!(ids.open("b".into(), 3, 4).unwrap_err().contains("overlap"));
        let mut ids = TileIds::default();
        ids.open("a".into(), 10, 4).unwrap();
        assert!(ids.open("b".into(), 1, 4).is_err());
        let mut ids = TileIds::default();
        ids.open("a".into(), 1, 4).unwrap();
        assert!(ids.open("b".into(), 5, 4).is_ok());
    }
}
