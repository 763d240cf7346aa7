//! Lists and working together (#9), in Chromium: the All list with each owner's availability,
//! phone numbers with their `+` and user text laid out by its own direction; a manager ticks two
//! conversations and resolves them in one action; the active tab in view on a phone; a mention
//! reaching an agent live in her Mentions tab until she opens it; at desktop width the list and
//! the open conversation side by side. Screenshots at 390×844 and 1280×800.

use super::*;
use crate::support::TestApp;

/// Resolves once no element matching `arguments[0]` shows `arguments[1]` (woken by DOM changes,
/// as [`WAIT_TEXT_JS`]).
const WAIT_GONE_JS: &str = r#"
const [css, text] = arguments;
const done = arguments[arguments.length - 1];
const gone = () => !Array.from(document.querySelectorAll(css))
    .some(e => (e.innerText || e.textContent || "").includes(text));
if (gone()) { done(true); return; }
const seen = new MutationObserver(() => { if (gone()) { seen.disconnect(); done(true); } });
seen.observe(document.documentElement,
    {subtree: true, childList: true, characterData: true, attributes: true});
"#;

async fn wait_gone(c: &Client, css: &str, text: &str) {
    let deadline = Instant::now() + WAIT;
    while Instant::now() < deadline {
        if c.execute_async(WAIT_GONE_JS, vec![json!(css), json!(text)])
            .await
            .is_ok()
        {
            return;
        }
    }
    panic!("{text:?} still in {css}");
}

#[test]
#[ignore = "needs Debian's chromium and chromium-driver; .ci/run runs it with --include-ignored"]
fn lists_bulk_resolve_mentions_and_desktop_split() {
    require_browser();
    let app = TestApp::spawn();
    let base = app.api.base.clone();
    let cb = FakeCallback::start(&[Reply::Status(200)]);
    let (ch, secret) = app.api_channel(&cb.url);
    let inbound = |ext: &str, who: &str, name: &str, phone: Option<&str>, text: &str| {
        let mut contact = json!({"identifier": who, "name": name});
        if let Some(p) = phone {
            contact["phone"] = json!(p);
        }
        app.api
            .raw(
                Method::POST,
                &format!("/api/v1/channels/{ch}/inbound"),
                Some(&secret),
                Some(
                    json!({"external_id": ext, "contact": contact, "text": text})
                        .to_string()
                        .into_bytes(),
                ),
            )
            .expect(201)["conversation_id"]
            .as_i64()
            .expect("id")
    };
    let maria = inbound(
        "m1",
        "maria",
        "Maria Silva",
        None,
        "Is the blue one in stock?",
    );
    let mohamed = inbound(
        "m2",
        "mohamed",
        "محمد حداد",
        Some("4915123456789"),
        "مرحبا، هل الطلب جاهز؟ order 1234",
    );
    let jonas = inbound("m3", "jonas", "Jonas", None, "Where is my parcel?");
    // Jonas is Bruno's; Bruno is busy.
    app.api
        .post(
            &format!("/api/v1/conversations/{jonas}/assign"),
            &app.manager.token,
            json!({"assignee_id": app.bruno.id, "team_id": app.sales}),
        )
        .expect(200);
    app.api
        .put(
            "/api/v1/me/status",
            &app.bruno.token,
            json!({"status": "busy"}),
        )
        .expect(200);
    app.api
        .patch(
            "/api/v1/settings",
            &app.owner.token,
            json!({"agent_visibility": "own"}),
        )
        .expect(200);

    let rt = runtime();
    let mut driver = Driver::start();
    rt.block_on(async {
        let mut console = Vec::new();
        let m = driver.browser().await;
        login(&m, &base, &app.manager.email).await;
        m.goto(&format!("{base}/?view=all")).await.expect("all");
        wait_text(&m, "ul.queue", "Jonas").await;
        // Availability beside the owner's name; the number with its +; user text by direction.
        wait_text(&m, "ul.queue", "busy").await;
        wait_text(&m, "ul.queue .phone", "+4915123456789").await;
        let undirected = js(&m, "return document.querySelectorAll('ul.queue .name:not([dir=auto]), ul.queue .preview:not([dir=auto])').length;").await;
        assert_eq!(undirected, json!(0), "names and previews need dir=auto");
        console.extend(console_errors(&m, "all list").await);
        shot(&m, "lists-all-390x844").await;

        // Tick Maria's and Jonas's conversations and resolve both at once.
        click(&m, &format!("input[name=ids][value='{maria}']")).await;
        click(&m, &format!("input[name=ids][value='{jonas}']")).await;
        // Live updates while boxes are ticked (the focus still on the last one): a new customer's
        // row appears, and a ticked row that changes (Maria writes again) stays ticked.
        let ticked = "return Array.from(document.querySelectorAll('input[name=ids]:checked'), i => Number(i.value)).sort((a, b) => a - b);";
        let mut both = vec![maria, jonas];
        both.sort();
        let lena = b(|| inbound("m4", "lena", "Lena", None, "Do you ship to Porto?"));
        wait_text(&m, "ul.queue", "Lena").await;
        assert_eq!(js(&m, ticked).await, json!(both), "ticks after a new row arrived");
        b(|| inbound("m5", "maria", "Maria Silva", None, "Or the red one, size 38"));
        wait_text(&m, "ul.queue", "Or the red one").await;
        assert_eq!(js(&m, ticked).await, json!(both), "ticks after a ticked row changed");
        shot(&m, "lists-bulk-selected-390x844").await;
        click(&m, "#bulk-bar button[value=resolve]").await;
        wait_gone(&m, "ul.queue", "Maria Silva").await;
        wait_gone(&m, "ul.queue", "Jonas").await;
        wait_text(&m, "ul.queue", "محمد حداد").await;
        wait_text(&m, "ul.queue", "Lena").await;
        for (id, want) in [(maria, "resolved"), (jonas, "resolved"), (mohamed, "open"), (lena, "open")] {
            let c = b(|| app.api.get(&format!("/api/v1/conversations/{id}"), &app.owner.token).expect(200));
            assert_eq!(c["status"], want, "conversation {id}");
        }
        console.extend(console_errors(&m, "after bulk resolve").await);

        // On a phone the last tab is off to the right: it is scrolled into view when active.
        m.goto(&format!("{base}/?view=all&team={}", app.support)).await.expect("support tab");
        wait_text(&m, "nav.tabs a.on", "Support").await;
        let visible = js(&m, "const a = document.querySelector('nav.tabs a.on'); const n = a.parentNode; \
            const r = a.getBoundingClientRect(), q = n.getBoundingClientRect(); \
            return n.scrollWidth > n.clientWidth && r.left >= q.left - 1 && r.right <= q.right + 1;").await;
        assert_eq!(visible, json!(true), "the active tab is off-screen");

        // Carla (Support, sees only her own) is mentioned on Bruno's... on the manager's
        // conversation: her Mentions tab counts it live, lists it, and forgets it once opened.
        let c = driver.browser().await;
        login(&c, &base, &app.carla.email).await;
        c.goto(&format!("{base}/?view=mine")).await.expect("mine");
        wait_text(&c, "nav.tabs", "Mentions").await;
        b(|| app.api.post(&format!("/api/v1/conversations/{mohamed}/notes"), &app.manager.token,
            json!({"text": "@Carla can you check order 1234 with the courier?"})).expect(201));
        wait_text(&c, "nav.tabs a[href='/?view=mentions'] .n", "1").await;
        click(&c, "nav.tabs a[href='/?view=mentions']").await;
        wait_text(&c, "ul.queue.mentions", "can you check order 1234").await;
        wait_text(&c, "ul.queue.mentions", "Mario").await;
        shot(&c, "lists-mentions-390x844").await;
        click(&c, "ul.queue.mentions a").await;
        // The note in the conversation's timeline (the list shows the same words).
        wait_text(&c, "ol.timeline", "can you check order 1234").await;
        console.extend(console_errors(&c, "mentioned conversation").await);
        c.goto(&format!("{base}/?view=mentions")).await.expect("mentions");
        wait_text(&c, "main", "No mentions waiting").await;
        wait_text(&c, "nav.tabs a[href='/?view=mentions'] .n", "0").await;
        let owner = b(|| app.api.get(&format!("/api/v1/conversations/{mohamed}"), &app.owner.token).expect(200));
        assert_eq!(owner["assignee"], serde_json::Value::Null, "a mention never changes the owner");

        // Desktop: list and conversation side by side; the address says which one is open.
        // ChromeDriver re-applies the phone metrics when it navigates: set the desktop size
        // after arriving (a reload from the page keeps it).
        m.goto(&format!("{base}/?view=all")).await.expect("all");
        viewport(&m, 1280, 800).await;
        wait_text(&m, "ul.queue", "محمد حداد").await;
        wait_text(&m, "#pane", "Pick a conversation").await;
        let width = js(&m, "return [innerWidth, matchMedia('(min-width: 1024px)').matches];").await;
        assert_eq!(width, json!([1280, true]));
        shot(&m, "lists-desktop-empty-1280x800").await;
        click(&m, &format!("ul.queue a[data-open='{mohamed}']")).await;
        wait_text(&m, "#pane", "can you check order 1234").await;
        wait_text(&m, "ul.queue", "محمد حداد").await;
        let url = m.current_url().await.expect("url");
        assert!(url.as_str().contains(&format!("open={mohamed}")), "{url}");
        let side_by_side = js(&m, "const l = document.getElementById('live-region').getBoundingClientRect(); \
            const p = document.getElementById('pane').getBoundingClientRect(); \
            return p.left >= l.right - 1 && p.width > 500;").await;
        assert_eq!(side_by_side, json!(true), "list and pane are not side by side");
        shot(&m, "lists-desktop-1280x800").await;
        // The pane holds a whole conversation: still one #live-region (the list's), and the
        // conversation's own scripts at work in it (a draft is kept per conversation).
        let dups = "const ids = Array.from(document.querySelectorAll('[id]'), e => e.id); \
            return ids.filter((x, i) => ids.indexOf(x) !== i);";
        assert_eq!(js(&m, dups).await, json!([]), "duplicate ids with the pane open");
        let field = js(&m, "const r = document.querySelector('#pane #reply'); \
            return r && r.offsetParent ? 'reply' : 'note';").await;
        let field = field.as_str().expect("field").to_string();
        let draft = "Draft typed in the pane — مسودة";
        fill(&m, &format!("#pane #{field}"), draft).await;
        let stored = format!("return localStorage.getItem('ti-draft:{mohamed}:{field}');");
        assert_eq!(js(&m, &stored).await, json!(draft), "the pane's draft is kept");
        // A live update while typing there: the list changes, the pane and its draft stay.
        b(|| inbound("m6", "mohamed", "محمد حداد", Some("4915123456789"), "Any news on 1234?"));
        wait_text(&m, "ul.queue", "Any news on 1234?").await;
        let typed = format!("return document.querySelector('#pane #{field}').value;");
        assert_eq!(js(&m, &typed).await, json!(draft), "the pane's draft after a live update");
        assert_eq!(js(&m, dups).await, json!([]), "duplicate ids after a live update");
        // Another conversation in the pane, then back: the draft comes back from this device.
        click(&m, &format!("ul.queue a[data-open='{lena}']")).await;
        wait_text(&m, "#pane", "Do you ship to Porto?").await;
        click(&m, &format!("ul.queue a[data-open='{mohamed}']")).await;
        wait_text(&m, "#pane", "Any news on 1234?").await;
        assert_eq!(js(&m, &typed).await, json!(draft), "the draft back in the pane");
        assert_eq!(js(&m, dups).await, json!([]), "duplicate ids after reopening");
        // A reload keeps the conversation open beside the list.
        m.refresh().await.expect("reload");
        viewport(&m, 1280, 800).await;
        wait_text(&m, "#pane", "can you check order 1234").await;
        console.extend(console_errors(&m, "desktop split").await);
        // The phone layout is unchanged: one column, no pane.
        viewport(&m, 390, 844).await;
        let pane = js(&m, "return getComputedStyle(document.getElementById('pane')).display;").await;
        assert_eq!(pane, json!("none"));
        assert!(console.is_empty(), "browser console errors: {console:#?}");
    });
}
