//! Reports (#11, "Measure"): the summary reads its staff replies on a second reader, on a second
//! thread, while the first reads the cycles (`Store::read_with_spare`). Read on one connection
//! or on two, the figures are the same, and they are the API's.

use serde_json::Value;
use teaminbox::domain::time::now_ms;
use teaminbox::service::reports::{Query, summary};

use crate::reports::{date, fortnight, fortnight_summary};

const DAY: i64 = 86_400_000;

/// The summary as JSON without `queue` (the queue is read now, the same either way).
fn figures(s: &teaminbox::service::reports::Summary) -> Value {
    let mut v = serde_json::to_value(s).expect("json");
    v.as_object_mut().expect("object").remove("queue");
    v
}

#[test]
fn the_summary_is_the_same_read_on_one_connection_or_two() {
    let f = fortnight();
    let app = &f.app;
    let channel: i64 = app
        .store
        .read_blocking(|c| {
            c.query_row("SELECT MIN(id) FROM channels", [], |r| r.get(0))
                .map_err(teaminbox::store::StoreError::from)
        })
        .expect("channel");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let cases = [
        ("everyone", None, None),
        ("one agent", Some(app.ana.id), None),
        ("another agent", Some(app.bruno.id), None),
        ("one channel", None, Some(channel)),
    ];
    for (name, agent, channel) in cases {
        let query = Query {
            from: Some(date(f.base)),
            to: Some(date(f.base + 13 * DAY)),
            team: None,
            agent,
            channel,
        };
        // The pool lends a second reader only when one is idle; the first try may find none
        // (the pool grows on demand), a later one does once the first try's readers are back.
        let mut tries = 0;
        let (one, two) = loop {
            tries += 1;
            let q = query.clone();
            let got = rt
                .block_on(app.store.read_with_spare(move |c, spare| {
                    let now = now_ms();
                    let filter = q.filter(c, now)?;
                    let lent = spare.is_some();
                    let two = summary(c, spare, &filter, now)?;
                    let one = summary(c, None, &filter, now)?;
                    Ok::<_, teaminbox::service::Error>((lent, one, two))
                }))
                .expect("summary");
            if got.0 {
                break (got.1, got.2);
            }
            assert!(tries < 20, "{name}: the pool never lent a second reader");
        };
        assert_eq!(figures(&one), figures(&two), "{name}");
        if agent.is_none() && channel.is_none() {
            assert_eq!(figures(&two), fortnight_summary(&f), "{name}: as the API");
        }
        // Not a vacuous comparison: the period has replies and cycles.
        assert!(two.cycles_started > 0, "{name}: cycles");
        assert!(
            two.per_agent.iter().any(|a| a.messages_sent > 0),
            "{name}: replies"
        );
    }
}
