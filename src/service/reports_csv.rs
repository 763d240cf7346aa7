//! CSV exports of reports: one row per cycle (`cycles.csv`) and one per agent (`agents.csv`).
//! RFC 4180 (CRLF, quoted where needed) through the `csv` crate, UTF-8 with a header row. A text
//! cell a spreadsheet would run as a formula (it starts with `=`, `+`, `-` or `@`, per
//! `shared/API.md`; also a tab or carriage return, per OWASP's "CSV Injection") gets a leading
//! `'`.

use rusqlite::Connection;

use super::Result;
use super::reports::summary;
use crate::domain::time::format_ms;
use crate::store::reports::{Filter, list_cycles};

/// `cell` made safe to open in a spreadsheet: prefixed with `'` when it starts with a character
/// that makes a formula.
pub fn neutralise(cell: &str) -> String {
    match cell.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{cell}"),
        _ => cell.to_string(),
    }
}

fn write(header: &[&str], rows: Vec<Vec<String>>) -> Result<Vec<u8>> {
    let mut w = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(Vec::new());
    let fail = |e: csv::Error| super::Error::Internal(format!("csv: {e}"));
    w.write_record(header).map_err(fail)?;
    for r in rows {
        w.write_record(&r).map_err(fail)?;
    }
    w.into_inner()
        .map_err(|e| super::Error::Internal(format!("csv: {e}")))
}

fn opt<T: ToString>(v: Option<T>) -> String {
    v.map(|v| v.to_string()).unwrap_or_default()
}

/// Header of `cycles.csv`.
pub const CYCLE_COLUMNS: &[&str] = &[
    "conversation_id",
    "cycle_id",
    "contact",
    "channel",
    "team",
    "started",
    "first_response",
    "resolved",
    "first_responder",
    "resolver",
    "first_response_secs",
    "resolution_secs",
    "sla_met",
    "csat",
];

/// `cycles.csv`: the cycles that started in the period, oldest first. Times RFC 3339 UTC;
/// seconds whole; `sla_met` is `yes`, `no` or empty (no policy applied).
///
/// # Errors
/// Storage errors only.
pub fn cycles_csv(conn: &Connection, f: &Filter) -> Result<Vec<u8>> {
    let before_end = |t: Option<i64>| t.filter(|t| *t < f.to);
    let rows = list_cycles(conn, f)?
        .into_iter()
        .map(|y| {
            let first = before_end(y.first_response_at);
            let resolved = before_end(y.resolved_at);
            vec![
                y.conversation_id.to_string(),
                y.id.to_string(),
                neutralise(&y.contact),
                neutralise(&y.channel),
                neutralise(&y.team.unwrap_or_default()),
                format_ms(y.started_at),
                opt(first.map(format_ms)),
                opt(resolved.map(format_ms)),
                neutralise(&opt(y.first_responder.map(|p| p.1))),
                neutralise(&opt(y.resolver.map(|p| p.1))),
                opt(first.map(|t| (t - y.started_at) / 1000)),
                opt(resolved.map(|t| (t - y.started_at) / 1000)),
                match (y.sla_applied, y.sla_breached) {
                    (false, _) => String::new(),
                    (true, false) => "yes".into(),
                    (true, true) => "no".into(),
                },
                opt(y.csat),
            ]
        })
        .collect();
    write(CYCLE_COLUMNS, rows)
}

/// Header of `agents.csv`.
pub const AGENT_COLUMNS: &[&str] = &[
    "user_id",
    "name",
    "conversations",
    "messages_sent",
    "resolved",
    "first_response_median_secs",
    "sla_met_ratio",
    "csat_mean",
    "csat_responses",
];

/// `agents.csv`: the `per_agent` figures of the summary, one row per agent.
///
/// # Errors
/// Storage errors only.
pub fn agents_csv(conn: &Connection, f: &Filter, now: i64) -> Result<Vec<u8>> {
    let rows = summary(conn, None, f, now)?
        .per_agent
        .into_iter()
        .map(|a| {
            vec![
                a.user.id.to_string(),
                neutralise(&a.user.name),
                a.conversations.to_string(),
                a.messages_sent.to_string(),
                a.resolved.to_string(),
                opt(a.first_response_median_secs),
                opt(a.sla_met_ratio),
                opt(a.csat_mean),
                a.csat_responses.to_string(),
            ]
        })
        .collect();
    write(AGENT_COLUMNS, rows)
}

#[cfg(test)]
mod tests {
    use super::neutralise;

    #[test]
    fn formula_cells_are_neutralised() {
        let cases = [
            (
                "=HYPERLINK(\"http://x\",\"y\")",
                "'=HYPERLINK(\"http://x\",\"y\")",
            ),
            ("+1 555", "'+1 555"),
            ("-2+3", "'-2+3"),
            ("@SUM(A1)", "'@SUM(A1)"),
            ("\tx", "'\tx"),
            ("Ana", "Ana"),
            ("", ""),
            ("a=b", "a=b"),
        ];
        for (cell, want) in cases {
            assert_eq!(neutralise(cell), want, "{cell:?}");
        }
    }
}
