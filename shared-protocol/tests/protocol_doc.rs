//! docs/PROTOCOL.md's tables agree with the Rust definitions.
//!
//! Client authors write from that page alone, so a table that drifts from
//! the code is a bug in every client written after it. Two tables are
//! checked row by row: the error codes (code, name, and what the code does to
//! the connection, against `error_code.rs`) and the limits (each constant's
//! value). The hex examples are checked by the golden test.

use std::path::Path;

use battlegrid_protocol::error_code::Effect;
use battlegrid_protocol::messages::{MAX_MAP_NAME_LEN, MAX_NAME_LEN, MAX_TEXT_LEN, MAX_TOKEN_LEN};
use battlegrid_protocol::{DATAGRAM_BUDGET, ErrorCode, MAX_FRAME_LEN, PROTOCOL_VERSION, codec};

fn protocol_doc() -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/PROTOCOL.md");
    std::fs::read_to_string(&path).expect("docs/PROTOCOL.md exists")
}

/// The body rows of the first table under the heading `## {title}`, as
/// trimmed cells.
fn table_rows(doc: &str, title: &str) -> Vec<Vec<String>> {
    let heading = format!("\n## {title}\n");
    let start = doc
        .find(&heading)
        .unwrap_or_else(|| panic!("no section {title:?}"))
        + heading.len();
    let section = &doc[start..];
    let section = &section[..section.find("\n## ").unwrap_or(section.len())];
    let rows: Vec<Vec<String>> = section
        .lines()
        .skip_while(|l| !l.starts_with('|'))
        .take_while(|l| l.starts_with('|'))
        .skip(2) // header and separator
        .map(|l| {
            l.trim_matches('|')
                .split('|')
                .map(|c| c.trim().to_owned())
                .collect()
        })
        .collect();
    assert!(!rows.is_empty(), "section {title:?} has no table");
    rows
}

fn unquote(cell: &str) -> &str {
    cell.trim_matches('`')
}

#[test]
fn error_table_matches_the_code_definitions() {
    let doc = protocol_doc();
    let rows = table_rows(&doc, "Error codes");
    let documented: Vec<u16> = rows
        .iter()
        .map(|r| {
            r[0].parse()
                .unwrap_or_else(|_| panic!("code cell {:?}", r[0]))
        })
        .collect();
    let known: Vec<u16> = ErrorCode::KNOWN.iter().map(|c| c.0).collect();
    assert_eq!(
        documented, known,
        "codes in the doc's table vs ErrorCode::KNOWN"
    );
    for row in &rows {
        let code = ErrorCode(row[0].parse().expect("checked above"));
        assert_eq!(
            Some(unquote(&row[1])),
            code.name(),
            "name of code {}",
            code.0
        );
        let connection = row[3].as_str();
        let says = if connection.starts_with("closed (`Reject`)") {
            Effect::Rejects
        } else if connection.starts_with("closed") {
            Effect::Closes
        } else if connection.starts_with("stays open") {
            Effect::KeepsOpen
        } else {
            panic!("connection cell of code {}: {connection:?}", code.0)
        };
        assert_eq!(
            Some(says),
            code.effect(),
            "connection rule of code {}",
            code.0
        );
    }
}

#[test]
fn limits_table_matches_the_constants() {
    let doc = protocol_doc();
    let rows = table_rows(&doc, "Limits");
    let expected: [(&str, usize); 8] = [
        ("MAX_FRAME_LEN", MAX_FRAME_LEN),
        ("codec::MAX_MESSAGE_LEN", codec::MAX_MESSAGE_LEN),
        ("DATAGRAM_BUDGET", DATAGRAM_BUDGET),
        ("messages::MAX_TEXT_LEN", MAX_TEXT_LEN),
        ("messages::MAX_NAME_LEN", MAX_NAME_LEN),
        ("messages::MAX_TOKEN_LEN", MAX_TOKEN_LEN),
        ("messages::MAX_MAP_NAME_LEN", MAX_MAP_NAME_LEN),
        ("PROTOCOL_VERSION", usize::from(PROTOCOL_VERSION)),
    ];
    let documented: Vec<&str> = rows.iter().map(|r| unquote(&r[0])).collect();
    let names: Vec<&str> = expected.iter().map(|(n, _)| *n).collect();
    assert_eq!(
        documented, names,
        "constants listed in the doc's limits table"
    );
    for (row, (name, value)) in rows.iter().zip(expected) {
        // "65,536 bytes" -> 65536: the first number of the cell.
        let digits: String = row[1]
            .chars()
            .take_while(|c| c.is_ascii_digit() || *c == ',')
            .filter(char::is_ascii_digit)
            .collect();
        assert_eq!(
            digits.parse::<usize>().ok(),
            Some(value),
            "value of {name}: {:?}",
            row[1]
        );
    }
}
