//! A cheap first pass over a TMX file, before the `tiled` crate sees it.
//!
//! `tiled` trusts its input more than a server may: it decompresses layer
//! data without a bound (a few kilobytes of zlib can ask for gigabytes),
//! allocates whatever size a layer claims, indexes layer data without
//! checking its length (a short layer panics on lookup) and reports XML
//! errors without a position. This pass streams the XML once and refuses,
//! with a line and column, everything that could cost more than the limits
//! allow or that battlegrid does not support (see `assets-maps/README.md`):
//! non-orthogonal, infinite or oversized maps, non-square tiles, external
//! tilesets and object templates, tilesets claiming too many tiles, files
//! with too many elements (each costs `tiled` memory), tile data in an
//! unknown encoding, tile layers whose data does not hold exactly one entry
//! per tile (decoded by [`super::layer_data`]), tile ids that no tileset
//! defines (see [`super::tile_ids`]), and DTDs and entity references:
//! quick-xml expands no entity and reads no external one, but the errors
//! `tiled` then gives name neither the cause nor the place.
//!
//! It leaves the meaning of the map (properties, layers, spawns) to
//! `convert`, which reads what `tiled` parsed; it only remembers the lines of
//! layers and objects so that later errors can point at them.

use std::collections::HashMap;

use quick_xml::Reader;
use quick_xml::events::{BytesStart, Event};

use super::error::Problem;
use super::layer_data::DataFormat;
use super::limits::{MAX_ELEMENTS, MAX_SIDE_UNITS, MAX_TILE_CELLS, MAX_TILES, MAX_TILESET_TILES};
use super::tile_ids::TileIds;

/// Deepest element nesting accepted (Tiled writes about six levels).
const MAX_DEPTH: usize = 64;

/// Lines of named things, for error locations.
#[derive(Debug, Default)]
pub(crate) struct Lines {
    /// First line of each layer, by layer name.
    pub layers: HashMap<String, u32>,
    /// Line of each object, by object id.
    pub objects: HashMap<u32, u32>,
}

/// Map attributes read from the `<map>` element.
#[derive(Debug, Clone, Copy)]
struct MapDims {
    width: u32,
    height: u32,
}

/// Streams `bytes` as XML and checks the limits the module docs list.
pub(crate) fn check(bytes: &[u8]) -> Result<Lines, Problem> {
    let mut reader = Reader::from_reader(bytes);
    reader.trim_text(true);
    reader.check_end_names(true);
    let mut pos = LineCounter::default();
    let mut lines = Lines::default();
    let mut stack: Vec<String> = Vec::new();
    let mut dims: Option<MapDims> = None;
    // The tile layer whose `<data>` is being read: its name, and the text.
    let mut current_layer: Option<String> = None;
    let mut data: Option<(DataFormat, Option<String>, u32)> = None;
    let mut cells: u64 = 0;
    let mut tileset_tiles: u64 = 0;
    let mut tile_ids = TileIds::default();
    let mut elements: u64 = 0;
    loop {
        let event_start = reader.buffer_position();
        let event = reader.read_event().map_err(|err| {
            let (line, col) = pos.line_col(bytes, reader.buffer_position());
            Problem::at(
                format!("line {line}, column {col}"),
                format!("this is not well-formed XML ({err}); was the file saved completely?"),
            )
        })?;
        let (line, _) = pos.line_col(bytes, reader.buffer_position());
        let here = || format!("line {line}");
        match event {
            Event::Start(ref e) | Event::Empty(ref e) => {
                let is_start = matches!(event, Event::Start(_));
                elements += 1;
                if elements > MAX_ELEMENTS {
                    return Err(Problem::at(
                        here(),
                        format!(
                            "the file has more than {MAX_ELEMENTS} XML elements (objects, properties, tiles...)"
                        ),
                    ));
                }
                let name = String::from_utf8_lossy(e.local_name().as_ref()).into_owned();
                check_attributes(e, &here())?;
                match (stack.last().map(String::as_str), name.as_str()) {
                    (None, "map") => dims = Some(map_element(e, &here())?),
                    (None, other) => {
                        return Err(Problem::at(
                            here(),
                            format!(
                                "this is not a Tiled map: the file starts with <{other}>, a .tmx map starts with <map>"
                            ),
                        ));
                    }
                    (Some("map"), "tileset") => {
                        if let Some(source) = attr(e, "source", &here())? {
                            return Err(Problem::at(
                                here(),
                                format!(
                                    "the map uses the external tileset \"{source}\"; battlegrid needs tilesets embedded in the map (Tiled: select the tileset, then Map > Embed Tileset)"
                                ),
                            ));
                        }
                        // `tiled` makes room for every tile a tileset claims,
                        // and without `columns` computes it in unchecked
                        // arithmetic; Tiled always writes both.
                        attr_u32(e, "columns", &here())?;
                        let tilecount = attr_u32(e, "tilecount", &here())?;
                        tileset_tiles += u64::from(tilecount);
                        if tileset_tiles > MAX_TILESET_TILES {
                            return Err(Problem::at(
                                here(),
                                format!(
                                    "the tilesets hold more than {MAX_TILESET_TILES} tiles together"
                                ),
                            ));
                        }
                        let tileset = attr(e, "name", &here())?.unwrap_or_default();
                        tile_ids
                            .open(tileset, attr_u32(e, "firstgid", &here())?, tilecount)
                            .map_err(|message| Problem::at(here(), message))?;
                        if !is_start {
                            tile_ids.close();
                        }
                    }
                    (Some("tileset"), "tile") => {
                        tile_ids.declare(attr_u32(e, "id", &here())?);
                    }
                    (_, "object") if stack.iter().any(|s| s == "objectgroup") => {
                        if attr(e, "template", &here())?.is_some() {
                            return Err(Problem::at(
                                here(),
                                "objects made from templates are not supported; detach the template (Tiled: right-click the object > Detach)",
                            ));
                        }
                        let id: Option<u32> = attr(e, "id", &here())?.and_then(|v| v.parse().ok());
                        if let Some(id) = id {
                            lines.objects.entry(id).or_insert(line);
                        }
                        if attr(e, "gid", &here())?.is_some() {
                            let object = id.map_or_else(String::new, |id| format!("object {id} "));
                            tile_ids
                                .check(attr_u32(e, "gid", &here())?)
                                .map_err(|message| {
                                    Problem::at(format!("{object}({})", here()), message)
                                })?;
                        }
                    }
                    (_, "layer" | "objectgroup") => {
                        let layer = attr(e, "name", &here())?.unwrap_or_default();
                        lines.layers.entry(layer.clone()).or_insert(line);
                        if name == "layer" {
                            let map = dims.unwrap_or(MapDims {
                                width: 0,
                                height: 0,
                            });
                            let w = attr_u32(e, "width", &here())?;
                            let h = attr_u32(e, "height", &here())?;
                            if (w, h) != (map.width, map.height) {
                                return Err(Problem::at(
                                    format!("layer \"{layer}\" ({})", here()),
                                    format!(
                                        "the layer is {w}x{h} tiles but the map is {}x{} tiles; resize the layer to the map (Tiled: Layer > Layer to Map Size)",
                                        map.width, map.height
                                    ),
                                ));
                            }
                            cells += u64::from(w) * u64::from(h);
                            if cells > MAX_TILE_CELLS {
                                return Err(Problem::at(
                                    format!("layer \"{layer}\" ({})", here()),
                                    format!(
                                        "the tile layers hold more than {MAX_TILE_CELLS} tiles together; use fewer tile layers or a smaller map"
                                    ),
                                ));
                            }
                            current_layer = Some(layer);
                        }
                    }
                    (Some("layer"), "data") => {
                        let format = DataFormat::from_attributes(
                            attr(e, "encoding", &here())?.as_deref(),
                            attr(e, "compression", &here())?.as_deref(),
                        )
                        .map_err(|message| Problem::at(here(), message))?;
                        let expected = dims.map_or(0, |d| d.width * d.height);
                        if is_start {
                            data = Some((format, None, line));
                        } else if expected != 0 {
                            return Err(data_count_problem(
                                current_layer.as_deref(),
                                line,
                                0,
                                expected,
                            ));
                        }
                    }
                    (Some("data"), "chunk") => {
                        return Err(Problem::at(
                            here(),
                            "layer data in chunks belongs to infinite maps, which are not supported",
                        ));
                    }
                    (Some("data"), "tile") => {
                        return Err(Problem::at(
                            here(),
                            "tile layer data as XML <tile> elements is not supported; use CSV or Base64 (Tiled: Map > Map Properties > Tile Layer Format)",
                        ));
                    }
                    (Some("data"), other) => {
                        return Err(Problem::at(
                            here(),
                            format!("unexpected <{other}> inside tile layer data"),
                        ));
                    }
                    _ => {}
                }
                if is_start {
                    if stack.len() >= MAX_DEPTH {
                        return Err(Problem::at(here(), "elements are nested too deeply"));
                    }
                    stack.push(name);
                }
            }
            Event::DocType(_) => {
                // Point at the `<!DOCTYPE`, not past its end.
                let skipped = bytes[event_start.min(bytes.len())..]
                    .iter()
                    .take_while(|b| b.is_ascii_whitespace())
                    .count();
                let (line, col) = pos.line_col(bytes, event_start + skipped);
                return Err(Problem::at(
                    format!("line {line}, column {col}"),
                    "the file has a DTD (<!DOCTYPE ...>); DTDs and entities are not allowed in map files (Tiled never writes them), remove it",
                ));
            }
            // `tiled` reads only the first piece of text in `<data>`, so
            // data split by comments or CDATA sections is refused rather
            // than counted differently.
            Event::Text(_) | Event::CData(_) | Event::Comment(_) | Event::PI(_)
                if data.as_ref().is_some_and(|(_, text, _)| text.is_some()) =>
            {
                return Err(Problem::at(
                    here(),
                    "tile layer data must be one piece of plain text",
                ));
            }
            Event::Text(ref t) => {
                let t = t
                    .unescape()
                    .map_err(|err| escape_problem(&here(), "the text", err))?;
                if let Some((_, text, _)) = data.as_mut() {
                    *text = Some(t.into_owned());
                }
            }
            Event::CData(ref t) => {
                if let Some((_, text, _)) = data.as_mut() {
                    *text = Some(String::from_utf8_lossy(t).into_owned());
                }
            }
            Event::End(_) => {
                let closed = stack.pop();
                if closed.as_deref() == Some("tileset") {
                    tile_ids.close();
                }
                if closed.as_deref() == Some("data")
                    && let Some((format, text, data_line)) = data.take()
                {
                    let expected = dims.map_or(0, |d| d.width * d.height);
                    let width = dims.map_or(1, |d| d.width.max(1));
                    let layer = current_layer.as_deref();
                    let mut unknown = None;
                    let count = format
                        .count(text.as_deref().unwrap_or(""), expected, |index, raw| {
                            if index < u64::from(expected)
                                && unknown.is_none()
                                && let Err(message) = tile_ids.check(raw)
                            {
                                unknown = Some((index, message));
                            }
                        })
                        .map_err(|message| Problem::at(layer_at(layer, data_line), message))?;
                    if let Some((index, message)) = unknown {
                        let (x, y) = (index % u64::from(width), index / u64::from(width));
                        return Err(Problem::at(
                            format!("{}, tile ({x}, {y})", layer_at(layer, data_line)),
                            message,
                        ));
                    }
                    if count != u64::from(expected) {
                        return Err(data_count_problem(layer, data_line, count, expected));
                    }
                }
            }
            Event::Eof => break,
            _ => {}
        }
    }
    if dims.is_none() {
        return Err(Problem::whole(
            "the file has no <map> element; is it a Tiled .tmx map?",
        ));
    }
    if let Some(open) = stack.last() {
        let (line, col) = pos.line_col(bytes, bytes.len());
        return Err(Problem::at(
            format!("line {line}, column {col}"),
            format!("the file ends inside <{open}>; was it saved completely?"),
        ));
    }
    Ok(lines)
}

/// Checks the `<map>` element's attributes against what battlegrid supports.
fn map_element(e: &BytesStart<'_>, here: &str) -> Result<MapDims, Problem> {
    if attr(e, "version", here)?.is_none() {
        return Err(Problem::at(
            here,
            "the <map> element has no \"version\" attribute; was the file written by Tiled?",
        ));
    }
    let orientation = attr(e, "orientation", here)?.unwrap_or_default();
    if orientation != "orthogonal" {
        return Err(Problem::at(
            here,
            format!("the map orientation is \"{orientation}\"; only orthogonal maps are supported"),
        ));
    }
    if attr(e, "infinite", here)?.as_deref() == Some("1") {
        return Err(Problem::at(
            here,
            "infinite maps are not supported; untick Infinite in Map > Map Properties",
        ));
    }
    let width = attr_u32(e, "width", here)?;
    let height = attr_u32(e, "height", here)?;
    let tile_w = attr_u32(e, "tilewidth", here)?;
    let tile_h = attr_u32(e, "tileheight", here)?;
    if width == 0 || height == 0 || tile_w == 0 {
        return Err(Problem::at(
            here,
            "the map and its tiles must be at least one unit wide and high",
        ));
    }
    if tile_w != tile_h {
        return Err(Problem::at(
            here,
            format!("tiles are {tile_w}x{tile_h}; battlegrid needs square tiles"),
        ));
    }
    let (w_units, h_units) = (
        u64::from(width) * u64::from(tile_w),
        u64::from(height) * u64::from(tile_h),
    );
    if w_units > u64::from(MAX_SIDE_UNITS) || h_units > u64::from(MAX_SIDE_UNITS) {
        return Err(Problem::at(
            here,
            format!(
                "the map is {w_units}x{h_units} units; the largest allowed is {MAX_SIDE_UNITS} units a side"
            ),
        ));
    }
    if u64::from(width) * u64::from(height) > MAX_TILES {
        return Err(Problem::at(
            here,
            format!(
                "the map has {width}x{height} tiles; the most allowed is {MAX_TILES} tiles (e.g. 2048x2048); use bigger tiles"
            ),
        ));
    }
    Ok(MapDims { width, height })
}

fn data_count_problem(layer: Option<&str>, line: u32, count: u64, expected: u32) -> Problem {
    Problem::at(
        layer_at(layer, line),
        format!(
            "the layer data holds {count} tiles but the map has {expected}; was the file saved completely?"
        ),
    )
}

fn layer_at(layer: Option<&str>, line: u32) -> String {
    match layer {
        Some(name) => format!("layer \"{name}\" (line {line})"),
        None => format!("line {line}"),
    }
}

/// The unescaped value of attribute `key`, if present.
fn attr(e: &BytesStart<'_>, key: &str, here: &str) -> Result<Option<String>, Problem> {
    for a in e.attributes() {
        let a = a.map_err(|err| Problem::at(here, format!("bad attribute: {err}")))?;
        if a.key.as_ref() == key.as_bytes() {
            let v = a
                .unescape_value()
                .map_err(|err| escape_problem(here, &format!("the value of \"{key}\""), err))?;
            return Ok(Some(v.into_owned()));
        }
    }
    Ok(None)
}

/// Unescapes every attribute of `e`, so that an entity reference anywhere
/// is refused here with its place, not later by `tiled` without one.
fn check_attributes(e: &BytesStart<'_>, here: &str) -> Result<(), Problem> {
    for a in e.attributes() {
        let a = a.map_err(|err| Problem::at(here, format!("bad attribute: {err}")))?;
        a.unescape_value().map_err(|err| {
            let key = String::from_utf8_lossy(a.key.as_ref()).into_owned();
            escape_problem(here, &format!("the value of \"{}\"", truncate(&key)), err)
        })?;
    }
    Ok(())
}

/// The problem with `what` (an attribute value or text) at `here` that
/// quick-xml could not unescape: usually an entity a DTD would define.
fn escape_problem(here: &str, what: &str, err: quick_xml::Error) -> Problem {
    match err {
        quick_xml::Error::EscapeError(quick_xml::escape::EscapeError::UnrecognizedSymbol(
            _,
            name,
        )) => Problem::at(
            here,
            format!(
                "{what} uses the entity \"&{};\"; DTDs and entities are not allowed in map files, only XML's own (&amp; &lt; &gt; &quot; &apos;) and character references such as &#38;",
                truncate(&name)
            ),
        ),
        other => Problem::at(here, format!("bad character reference in {what}: {other}")),
    }
}

/// A required whole-number attribute.
fn attr_u32(e: &BytesStart<'_>, key: &str, here: &str) -> Result<u32, Problem> {
    let v = attr(e, key, here)?
        .ok_or_else(|| Problem::at(here, format!("the attribute \"{key}\" is missing")))?;
    v.trim().parse().map_err(|_| {
        Problem::at(
            here,
            format!("\"{key}\" is \"{}\", not a whole number", truncate(&v)),
        )
    })
}

/// At most 40 characters of `s`, for quoting garbage back to the designer.
pub(super) fn truncate(s: &str) -> String {
    match s.char_indices().nth(40) {
        Some((i, _)) => format!("{}...", &s[..i]),
        None => s.to_owned(),
    }
}

/// Turns byte offsets into line and column numbers; offsets only grow while
/// streaming, so each byte is counted once.
#[derive(Debug)]
struct LineCounter {
    offset: usize,
    line: u32,
    line_start: usize,
}

impl Default for LineCounter {
    fn default() -> Self {
        Self {
            offset: 0,
            line: 1,
            line_start: 0,
        }
    }
}

impl LineCounter {
    /// 1-based line and column of byte `at`.
    fn line_col(&mut self, bytes: &[u8], at: usize) -> (u32, usize) {
        let at = at.min(bytes.len());
        if at < self.offset {
            *self = Self::default();
        }
        for (i, &b) in bytes[self.offset..at].iter().enumerate() {
            if b == b'\n' {
                self.line += 1;
                self.line_start = self.offset + i + 1;
            }
        }
        self.offset = at;
        (self.line, at - self.line_start + 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Byte offsets become 1-based lines and columns, also when asked out
    /// of order.
    #[test]
    fn line_and_column_of_offsets() {
        let text = b"ab\ncd\n\nef";
        let mut c = LineCounter::default();
        assert_eq!(c.line_col(text, 0), (1, 1));
        assert_eq!(c.line_col(text, 4), (2, 2));
        assert_eq!(c.line_col(text, 9), (4, 3));
        assert_eq!(c.line_col(text, 1), (1, 2));
        assert_eq!(c.line_col(text, 100), (4, 3));
    }

    /// Lines of layers and objects are remembered for later errors.
    #[test]
    fn remembers_layer_and_object_lines() {
        let text = "<map version=\"1.10\" orientation=\"orthogonal\" width=\"1\" height=\"1\" tilewidth=\"8\" tileheight=\"8\">\n<layer name=\"a\" width=\"1\" height=\"1\">\n<data encoding=\"csv\">0</data>\n</layer>\n<objectgroup name=\"spawns\">\n<object id=\"7\" x=\"1\" y=\"1\"><point/></object>\n</objectgroup>\n</map>";
        let lines = check(text.as_bytes()).unwrap();
        assert_eq!(lines.layers.get("a"), Some(&2));
        assert_eq!(lines.layers.get("spawns"), Some(&5));
        assert_eq!(lines.objects.get(&7), Some(&6));
    }

    /// Attribute values longer than 40 characters are cut when quoted.
    #[test]
    fn long_garbage_is_truncated() {
        assert_eq!(truncate(&"x".repeat(50)), format!("{}...", "x".repeat(40)));
        assert_eq!(truncate("short"), "short");
    }
}
