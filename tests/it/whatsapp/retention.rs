//! The life of a kept body after the 200: processed bodies are deleted after the retention
//! period (by the scheduler's tick, in bounded batches), and a body that fails processing is
//! retried with backoff, then set aside — never retried by the sweep, never pruned, and never in
//! the way of other bodies. Time moves by the `now` the service functions take, or by
//! back-dating rows: no sleeps.

use teaminbox::domain::time::now_ms;
use teaminbox::domain::webhooks::{ATTEMPTS, RETENTION_MS};
use teaminbox::service::webhooks;
use teaminbox::store::StoreError;
use teaminbox::store::whatsapp as wa;

use super::*;
use crate::support::TestApp;

const HOUR: i64 = 3_600_000;

/// Runs SQL on the writer.
fn exec(app: &TestApp, sql: &'static str) {
    app.store
        .write_blocking(move |c| c.execute_batch(sql).map_err(StoreError::from))
        .expect("sql");
}

/// The id of the kept body containing `needle`.
fn id_of(app: &TestApp, needle: &'static str) -> i64 {
    app.store
        .read_blocking(move |c| {
            c.query_row(
                "SELECT id FROM wa_webhooks WHERE instr(body, ?1) > 0",
                [needle],
                |r| r.get(0),
            )
            .map_err(StoreError::from)
        })
        .expect("kept body")
}

fn text(number: &str, wamid: &str) -> Vec<u8> {
    hook_of(&[text_entry("419561257915477", number, wamid, "1555", wamid)])
}

#[test]
fn processed_bodies_are_pruned_after_the_retention_period_and_others_stay() {
    let app = TestApp::spawn();
    let graph = FakeGraph::start(vec![]);
    wa_channel(&app, &graph, "8600");
    let old_body = text("8600", "w.old");
    deliver(&app, &old_body);
    deliver(&app, &text("8600", "w.recent"));
    let old = id_of(&app, "w.old");
    // Two bodies that are not processed: one set aside, one waiting for a retry (as if they
    // had failed), kept in one transaction so the job never sees them due.
    let now = now_ms();
    let (aside, waiting) = app
        .store
        .write_blocking(move |c| {
            let aside = webhooks::accept(c, &text("8600", "w.aside"), &[], now)?.id;
            let waiting = webhooks::accept(c, &text("8600", "w.waiting"), &[], now)?.id;
            wa::update_webhook_set_aside(c, aside, now)?;
            wa::update_webhook_retry_at(c, waiting, now + 100 * 24 * HOUR)?;
            Ok::<_, teaminbox::service::Error>((aside, waiting))
        })
        .expect("kept");
    // Everything is 30 days old, except w.recent's processing (a day ago).
    exec(
        &app,
        "UPDATE wa_webhooks SET received_at = received_at - 30 * 86400000,
                processed_at = processed_at - 30 * 86400000;
         UPDATE wa_webhooks SET processed_at = processed_at + 29 * 86400000
          WHERE instr(body, 'w.recent') > 0;",
    );
    // The scheduler's tick deletes the old processed body.
    app.wait_until("the old body pruned", || {
        query_i64(&app, "SELECT COUNT(*) FROM wa_webhooks WHERE id = ?1", old) == 0
    });
    let left = |app: &TestApp| count_sql(app, "SELECT COUNT(*) FROM wa_webhooks");
    assert_eq!(
        left(&app),
        3,
        "w.recent, the set-aside and the waiting body stay"
    );
    assert!(
        has_message(&app, "w.old"),
        "the processed data is the durable copy"
    );
    // Later, the recent one goes too — one bounded batch at a time; the others never.
    let later = now_ms() + RETENTION_MS;
    let deleted = app
        .store
        .write_blocking(move |c| webhooks::prune(c, later, 1))
        .expect("prune");
    assert_eq!(deleted, 1);
    let deleted = app
        .store
        .write_blocking(move |c| webhooks::prune(c, later + 365 * 24 * HOUR, 100))
        .expect("prune");
    assert_eq!(deleted, 0);
    for id in [aside, waiting] {
        assert_eq!(
            query_i64(&app, "SELECT COUNT(*) FROM wa_webhooks WHERE id = ?1", id),
            1
        );
    }
    // A body Meta would no longer retry, sent again after pruning: kept again and processed
    // again, and still one message.
    deliver(&app, &old_body);
    assert_eq!(
        count_sql(
            &app,
            "SELECT COUNT(*) FROM messages WHERE external_id = 'w.old'"
        ),
        1
    );
    // The newest row is never deleted, however old: ids keep growing, never given twice.
    let newest = count_sql(&app, "SELECT MAX(id) FROM wa_webhooks");
    assert!(newest > waiting);
    let deleted = app
        .store
        .write_blocking(move |c| webhooks::prune(c, later + 365 * 24 * HOUR, 100))
        .expect("prune");
    assert_eq!(deleted, 0);
    deliver(&app, &text("8600", "w.newer"));
    assert!(count_sql(&app, "SELECT MAX(id) FROM wa_webhooks") > newest);
}

#[test]
fn a_body_failing_for_good_is_set_aside_and_never_holds_up_the_others() {
    let mut app = TestApp::spawn();
    let graph = FakeGraph::start(vec![]);
    wa_channel(&app, &graph, "8700");
    // Processing this body always fails (as a corrupt row or a bad disk page would make it).
    exec(
        &app,
        "CREATE TRIGGER poison BEFORE UPDATE OF processed_at ON wa_webhooks
          WHEN instr(NEW.body, 'w.poison') > 0
         BEGIN SELECT RAISE(ABORT, 'this body cannot be processed'); END;",
    );
    let before = now_ms();
    let body = text("8700", "w.poison");
    post_hook(&app, &body, Some(&sign(SECRET, &body))).expect(200);
    let poison = id_of(&app, "w.poison");
    // The job's first attempt fails; it is counted, with a retry a minute or more later.
    app.wait_until("the first attempt counted", || {
        query_i64(
            &app,
            "SELECT attempts FROM wa_webhooks WHERE id = ?1",
            poison,
        ) == 1
    });
    let retry_at = query_i64(
        &app,
        "SELECT next_attempt_at FROM wa_webhooks WHERE id = ?1",
        poison,
    );
    assert!(retry_at >= before + 60_000, "backs off");
    // Meanwhile other bodies flow.
    deliver(&app, &text("8700", "w.next"));
    assert!(has_message(&app, "w.next"));
    // The sweep's later passes, hours apart (each lists what is due then and processes it).
    let due = |app: &TestApp, at: i64| {
        app.store
            .read_blocking(move |c| wa::list_due(c, 0, at, 64))
            .expect("due")
    };
    let mut at = now_ms();
    for attempt in 2..=ATTEMPTS {
        at += 2 * HOUR;
        let ids = due(&app, at);
        assert_eq!(ids, [poison], "attempt {attempt}");
        let done = app
            .store
            .write_blocking(move |c| webhooks::process_batch(c, &ids, at))
            .expect("batch");
        assert_eq!(done.failed.len(), 1);
        assert_eq!(
            query_i64(
                &app,
                "SELECT attempts FROM wa_webhooks WHERE id = ?1",
                poison
            ),
            attempt
        );
    }
    // Set aside, with why; no longer due, ever; listed for the owner.
    assert!(due(&app, at + 1000 * HOUR).is_empty());
    let listed = app
        .store
        .read_blocking(|c| webhooks::list_set_aside(c, 10))
        .expect("list");
    assert_eq!(listed.len(), 1);
    assert_eq!((listed[0].id, listed[0].attempts), (poison, ATTEMPTS));
    assert!(
        listed[0]
            .error
            .as_deref()
            .unwrap_or("")
            .contains("this body cannot be processed"),
        "{:?}",
        listed[0].error
    );
    // Across a restart (the sweep runs at start): not retried, not pruned, others flow.
    app.restart();
    deliver(&app, &text("8700", "w.after"));
    assert!(has_message(&app, "w.after"));
    let pruned = app
        .store
        .write_blocking(move |c| webhooks::prune(c, at + 1000 * HOUR, 100))
        .expect("prune");
    assert_eq!(
        pruned, 1,
        "w.next; not the set-aside body, nor w.after (the newest)"
    );
    assert_eq!(
        query_i64(
            &app,
            "SELECT attempts FROM wa_webhooks WHERE id = ?1 AND set_aside_at IS NOT NULL",
            poison
        ),
        ATTEMPTS
    );
    assert!(!has_message(&app, "w.poison"));
    // The owner fixes the cause and puts it back in line; the next sweep processes it.
    exec(&app, "DROP TRIGGER poison");
    app.store
        .write_blocking(move |c| webhooks::retry(c, poison))
        .expect("retry");
    assert!(
        app.store
            .write_blocking(move |c| webhooks::retry(c, poison))
            .is_err(),
        "only a set-aside body can be retried"
    );
    app.restart();
    wait_processed(&app);
    assert!(has_message(&app, "w.poison"));
}
