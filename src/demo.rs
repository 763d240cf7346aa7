//! `teaminbox demo`: a throwaway workspace that shows the product working at once. A fresh data
//! dir in the system's temp dir (deleted at exit); a seeded team (owner, manager, two agents, their
//! passwords printed), teams, tags and canned replies; sample conversations in every state with
//! notes and handoffs, made through the public API like a real team would; and a customer
//! simulator that keeps writing through the API channel every few seconds. Replies staff send
//! go to a local sink that accepts them, so they show as delivered.

use std::path::Path;
use std::time::Duration;

use anyhow::Context;
use serde_json::{Value, json};

use crate::config::{Config, Overrides};
use crate::domain::time::now_ms;
use crate::domain::{Role, TeamId};
use crate::service::{self, teams::TeamChange};
use crate::store::Store;
use crate::store::tokens::TokenKind;
use crate::store::users::NewUser;

/// Options of `teaminbox demo`.
#[derive(clap::Args, Debug, Clone)]
pub struct DemoArgs {
    /// Address to listen on.
    #[arg(long, default_value = "0.0.0.0:8080")]
    pub bind: String,
    /// Milliseconds between two simulated customer messages.
    #[arg(long, default_value_t = 4000)]
    pub interval_ms: u64,
    /// Do not announce teaminbox.local on the network (mDNS).
    #[arg(long)]
    pub no_mdns: bool,
}

/// One seeded person.
struct Person {
    name: &'static str,
    email: &'static str,
    role: Role,
    teams: &'static [&'static str],
}

const PEOPLE: &[Person] = &[
    Person {
        name: "Olga Owner",
        email: "olga@demo.shop",
        role: Role::Owner,
        teams: &[],
    },
    Person {
        name: "Mario Manager",
        email: "mario@demo.shop",
        role: Role::Manager,
        teams: &["Sales", "Support"],
    },
    Person {
        name: "Ana Agent",
        email: "ana@demo.shop",
        role: Role::Agent,
        teams: &["Sales"],
    },
    Person {
        name: "Bruno Agent",
        email: "bruno@demo.shop",
        role: Role::Agent,
        teams: &["Support"],
    },
];

/// What customers write: (name, phone, first message, follow-ups).
const CUSTOMERS: &[(&str, &str, &str, &[&str])] = &[
    (
        "Lena Weber",
        "+4915112345678",
        "Hi! Is the leather jacket in size M back in stock?",
        &[
            "Do you also have it in brown?",
            "Great, can you hold one for me until Saturday?",
        ],
    ),
    (
        "Rafael Souza",
        "+5511987654321",
        "Olá, meu pedido 4411 ainda não chegou",
        &["Paguei na segunda-feira", "Obrigado!"],
    ),
    (
        "Priya Nair",
        "+919812345678",
        "Can I return sunglasses bought last week?",
        &["I still have the receipt", "Will you refund to my card?"],
    ),
    (
        "Omar Haddad",
        "+971501234567",
        "مرحبا، هل التوصيل متاح إلى دبي؟",
        &["كم يستغرق؟", "شكرا"],
    ),
    (
        "Kenji Sato",
        "+819012345678",
        "Hello, what are your opening hours on Sunday?",
        &["And on public holidays?"],
    ),
    (
        "Marie Dubois",
        "+33612345678",
        "Bonjour, la commande 5520 est arrivée abîmée",
        &["Je vous envoie une photo", "Un échange serait parfait"],
    ),
    (
        "Tom Baker",
        "+447700900123",
        "Do you ship to Manchester?",
        &["How much is delivery?", "Perfect, ordering now"],
    ),
    (
        "Sofia Rossi",
        "+393471234567",
        "Ciao! Avete buoni regalo?",
        &["Da 50 euro va benissimo"],
    ),
];

/// The customers of [`CUSTOMERS`] whose sample conversations stay open (the simulator's
/// follow-ups go to them).
const STILL_OPEN: &[usize] = &[0, 1, 6, 7];

/// Lines the simulator's new customers open with.
const OPENERS: &[&str] = &[
    "Hi, is this shop open today?",
    "Where is my order? It has been a week.",
    "Do you have this in a larger size?",
    "Can I pay on delivery?",
    "I'd like to change my delivery address",
    "Is there a discount for two items?",
    "The zipper broke after one day :(",
    "Can someone call me back?",
];

/// Runs the demo until Ctrl-C (or SIGTERM), then deletes its data dir.
///
/// # Errors
/// When the data dir, the server or the seeding fails (the message says which).
pub fn run(args: DemoArgs) -> anyhow::Result<()> {
    crate::install_crypto();
    let dir = std::env::temp_dir().join(format!(
        "teaminbox-demo-{}-{}",
        std::process::id(),
        now_ms()
    ));
    let result = run_in(&dir, &args);
    let _ = std::fs::remove_dir_all(&dir);
    result
}

fn run_in(dir: &Path, args: &DemoArgs) -> anyhow::Result<()> {
    let seeded = seed_people(dir)?;
    let config = Config::load(
        dir.to_path_buf(),
        Overrides {
            bind: Some(args.bind.clone()),
            log: Some("warn".into()),
            backup_keep: Some(0),
            update_check: Some(false),
            mdns: args.no_mdns.then_some(false),
            ..Overrides::default()
        },
    )?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(async move {
        let sink = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let sink_url = format!("http://{}/", sink.local_addr()?);
        tokio::spawn(accept_replies(sink));
        let server = crate::server::spawn_background(config)?;
        let base = format!("http://127.0.0.1:{}", server.addr.port());
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()?;
        let demo = Demo {
            client,
            base,
            tokens: seeded.tokens,
            teams: seeded.teams,
        };
        let (channel, secret) = demo.seed_conversations(&sink_url).await?;
        println!(
            "\nteaminbox demo — a throwaway workspace (deleted when you stop it with Ctrl-C).\nSign in with one of these (each sees the inbox their role allows):"
        );
        for (p, password) in PEOPLE.iter().zip(&seeded.passwords) {
            println!(
                "  {:<8} {:<17} password {password}",
                p.role.as_str(),
                p.email
            );
        }
        println!(
            "A simulated customer writes every {} s through the API channel.\ndemo ready",
            args.interval_ms as f64 / 1000.0
        );
        tokio::select! {
            _ = crate::server::terminate_signal() => {}
            r = demo.simulate(channel, &secret, args.interval_ms) => r?,
        }
        println!("stopping the demo and deleting its data");
        tokio::task::spawn_blocking(move || server.stop()).await?;
        Ok::<_, anyhow::Error>(())
    })
}

/// The seeded people and teams.
struct Seeded {
    /// API tokens, in the order of [`PEOPLE`].
    tokens: Vec<String>,
    /// Their passwords, in the same order.
    passwords: Vec<String>,
    /// Team name → id.
    teams: Vec<(&'static str, TeamId)>,
}

/// Creates the people, teams, tags and canned replies directly in a new database (before the
/// server starts, so it does not offer a setup link).
fn seed_people(dir: &Path) -> anyhow::Result<Seeded> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let store = Store::open(dir)?;
    let passwords: Vec<String> = PEOPLE
        .iter()
        .map(|_| service::auth::new_secret()[..12].to_string())
        .collect();
    let hashes = passwords
        .iter()
        .map(|p| service::auth::hash_password(p))
        .collect::<Result<Vec<_>, _>>()?;
    let seeded = store.write_blocking(move |c| {
        let mut teams = Vec::new();
        for name in ["Sales", "Support"] {
            let t = service::teams::create_team(
                c,
                TeamChange {
                    name: Some(name.into()),
                    ..TeamChange::default()
                },
            )?;
            teams.push((name, t.id));
        }
        let mut tokens = Vec::new();
        let mut owner = None;
        for (p, hash) in PEOPLE.iter().zip(hashes) {
            let ids: Vec<TeamId> = teams
                .iter()
                .filter(|(n, _)| p.teams.contains(n))
                .map(|(_, id)| *id)
                .collect();
            let u = service::users::create_user(
                c,
                NewUser {
                    email: p.email.into(),
                    name: p.name.into(),
                    role: p.role,
                    password_hash: hash,
                },
                &ids,
            )?;
            tokens.push(service::auth::issue_token(c, &u, TokenKind::Api, None)?);
            if p.role == Role::Owner {
                owner = Some(crate::domain::policy::Actor {
                    id: u.id,
                    role: u.role,
                    teams: Vec::new(),
                });
            }
        }
        if let Some(owner) = owner {
            for (shortcut, body) in [
                ("hi", "Hi! Thanks for writing to us — how can I help?"),
                ("hours", "We are open Monday to Saturday, 9:00–18:00."),
                (
                    "returns",
                    "You can return anything within 30 days with the receipt.",
                ),
                ("thanks", "Thank you! Have a lovely day."),
            ] {
                service::workspace::add_canned(c, &owner, shortcut, body)?;
            }
        }
        Ok::<_, service::Error>((tokens, teams))
    })?;
    drop(store);
    Ok(Seeded {
        tokens: seeded.0,
        passwords,
        teams: seeded.1,
    })
}

/// Accepts the API channel's deliveries of staff replies and answers 200 to each.
async fn accept_replies(sink: tokio::net::TcpListener) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    loop {
        let Ok((mut conn, _)) = sink.accept().await else {
            continue;
        };
        tokio::spawn(async move {
            let mut buf = vec![0u8; 64 * 1024];
            let _ = conn.read(&mut buf).await;
            let _ = conn
                .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
                .await;
        });
    }
}

/// The demo's API client: the seeded people's tokens on the running server.
struct Demo {
    client: reqwest::Client,
    base: String,
    tokens: Vec<String>,
    teams: Vec<(&'static str, TeamId)>,
}

/// Index in [`PEOPLE`] of each role used below.
const OWNER: usize = 0;
const MANAGER: usize = 1;
const ANA: usize = 2;
const BRUNO: usize = 3;

impl Demo {
    async fn call(&self, who: usize, path: &str, body: Value) -> anyhow::Result<Value> {
        let resp = self
            .client
            .post(format!("{}{path}", self.base))
            .bearer_auth(&self.tokens[who])
            .json(&body)
            .send()
            .await?;
        let status = resp.status();
        let value: Value = resp.json().await.unwrap_or(Value::Null);
        anyhow::ensure!(
            status.is_success(),
            "seeding the demo: {path} answered {status}: {value}"
        );
        Ok(value)
    }

    async fn inbound(
        &self,
        channel: i64,
        secret: &str,
        customer: (&str, &str),
        text: &str,
    ) -> anyhow::Result<i64> {
        let body = json!({
            "external_id": format!("demo-{}", service::auth::new_secret()),
            "contact": {"identifier": customer.1, "name": customer.0, "phone": customer.1},
            "text": text,
        });
        let resp = self
            .client
            .post(format!("{}/api/v1/channels/{channel}/inbound", self.base))
            .bearer_auth(secret)
            .json(&body)
            .send()
            .await?;
        let status = resp.status();
        let v: Value = resp.json().await.unwrap_or(Value::Null);
        anyhow::ensure!(
            status.is_success(),
            "the simulated customer was refused: {status} {v}"
        );
        v["conversation_id"]
            .as_i64()
            .context("the inbound answer had no conversation id")
    }

    fn team(&self, name: &str) -> i64 {
        self.teams
            .iter()
            .find(|(n, _)| *n == name)
            .map_or(0, |(_, id)| id.0)
    }

    /// The API channel and sample conversations: unassigned, open with an agent, waiting on the
    /// customer, snoozed, handed over with a note, resolved — with tags and notes.
    async fn seed_conversations(&self, sink_url: &str) -> anyhow::Result<(i64, String)> {
        let ch = self
            .call(
                OWNER,
                "/api/v1/channels",
                json!({"kind": "api", "name": "Website chat", "config": {"callback_url": sink_url}}),
            )
            .await?;
        let channel = ch["id"].as_i64().context("channel id")?;
        let secret = ch["secret"].as_str().context("channel secret")?.to_string();
        let mut convs = Vec::new();
        for (name, phone, first, _) in CUSTOMERS {
            convs.push(self.inbound(channel, &secret, (name, phone), first).await?);
        }
        let c = |i: usize| format!("/api/v1/conversations/{}", convs[i]);
        let (sales, support) = (self.team("Sales"), self.team("Support"));
        // Lena: Ana (Sales) answers; she asks more; open, tagged lead.
        self.call(
            MANAGER,
            &format!("{}/assign", c(0)),
            json!({"assignee_id": null, "team_id": sales}),
        )
        .await?;
        self.call(ANA, &format!("{}/claim", c(0)), json!({}))
            .await?;
        self.call(
            ANA,
            &format!("{}/messages", c(0)),
            json!({"text": "Hi Lena! Yes, size M arrived this morning."}),
        )
        .await?;
        self.inbound(
            channel,
            &secret,
            (CUSTOMERS[0].0, CUSTOMERS[0].1),
            CUSTOMERS[0].3[0],
        )
        .await?;
        self.call(ANA, &format!("{}/tags", c(0)), json!({"add": ["lead"]}))
            .await?;
        // Rafael: Bruno (Support) looks into a late order, notes it, waits on the carrier.
        self.call(
            MANAGER,
            &format!("{}/assign", c(1)),
            json!({"assignee_id": null, "team_id": support}),
        )
        .await?;
        self.call(BRUNO, &format!("{}/claim", c(1)), json!({}))
            .await?;
        self.call(BRUNO, &format!("{}/notes", c(1)), json!({"text": "Carrier says the parcel is stuck in Curitiba; asked them to call back."})).await?;
        self.call(
            BRUNO,
            &format!("{}/messages", c(1)),
            json!({"text": "Olá Rafael! Estamos verificando com a transportadora."}),
        )
        .await?;
        self.call(
            BRUNO,
            &format!("{}/tags", c(1)),
            json!({"add": ["delivery"]}),
        )
        .await?;
        // Priya: a return; Bruno answers and waits on her (pending).
        self.call(
            MANAGER,
            &format!("{}/assign", c(2)),
            json!({"assignee_id": null, "team_id": support}),
        )
        .await?;
        self.call(BRUNO, &format!("{}/claim", c(2)), json!({}))
            .await?;
        self.call(
            BRUNO,
            &format!("{}/messages", c(2)),
            json!({"text": "Of course — bring them with the receipt, or send a photo of it here."}),
        )
        .await?;
        self.call(
            BRUNO,
            &format!("{}/status", c(2)),
            json!({"status": "pending"}),
        )
        .await?;
        self.call(BRUNO, &format!("{}/tags", c(2)), json!({"add": ["return"]}))
            .await?;
        // Omar: Ana starts, then hands over to Bruno with a note (a recorded handoff).
        self.call(
            MANAGER,
            &format!("{}/assign", c(3)),
            json!({"assignee_id": null, "team_id": sales}),
        )
        .await?;
        self.call(ANA, &format!("{}/claim", c(3)), json!({}))
            .await?;
        let bruno = self.user_id(BRUNO).await?;
        self.call(ANA, &format!("{}/assign", c(3)), json!({"assignee_id": bruno, "team_id": support, "note": "Delivery question for Dubai — Bruno knows the courier rates."})).await?;
        // Kenji: answered and resolved by the manager.
        self.call(MANAGER, &format!("{}/claim", c(4)), json!({}))
            .await?;
        self.call(
            MANAGER,
            &format!("{}/messages", c(4)),
            json!({"text": "Hi Kenji! Sundays 11:00–16:00."}),
        )
        .await?;
        self.call(
            MANAGER,
            &format!("{}/status", c(4)),
            json!({"status": "resolved"}),
        )
        .await?;
        // Marie: damaged order, Bruno snoozes it until the photo arrives.
        self.call(
            MANAGER,
            &format!("{}/assign", c(5)),
            json!({"assignee_id": null, "team_id": support}),
        )
        .await?;
        self.call(BRUNO, &format!("{}/claim", c(5)), json!({}))
            .await?;
        self.call(BRUNO, &format!("{}/messages", c(5)), json!({"text": "Désolé Marie ! Envoyez-nous une photo, nous échangeons tout de suite."})).await?;
        let until = jiff::Timestamp::from_millisecond(now_ms() + 3 * 3_600_000)?.to_string();
        self.call(
            BRUNO,
            &format!("{}/status", c(5)),
            json!({"status": "snoozed", "until": until}),
        )
        .await?;
        self.call(
            BRUNO,
            &format!("{}/notes", c(5)),
            json!({"text": "@Mario Manager exchange approved? Photo pending."}),
        )
        .await?;
        // Tom and Sofia wait unassigned in the queue (Sales pool and the general pool).
        self.call(
            MANAGER,
            &format!("{}/assign", c(6)),
            json!({"assignee_id": null, "team_id": sales}),
        )
        .await?;
        self.call(MANAGER, &format!("{}/tags", c(7)), json!({"add": ["gift"]}))
            .await?;
        Ok((channel, secret))
    }

    async fn user_id(&self, who: usize) -> anyhow::Result<i64> {
        let me: Value = self
            .client
            .get(format!("{}/api/v1/me", self.base))
            .bearer_auth(&self.tokens[who])
            .send()
            .await?
            .json()
            .await?;
        me["id"].as_i64().context("user id")
    }

    /// Writes as customers forever: a follow-up from a known customer or a new customer's
    /// opener, every `interval_ms`.
    async fn simulate(&self, channel: i64, secret: &str, interval_ms: u64) -> anyhow::Result<()> {
        let mut n: usize = 0;
        loop {
            tokio::time::sleep(Duration::from_millis(interval_ms.max(100))).await;
            n += 1;
            let (name, phone, text) = if n.is_multiple_of(3) {
                let k = n / 3;
                (
                    format!("New customer {k}"),
                    format!("+1555010{:04}", k % 10_000),
                    OPENERS[k % OPENERS.len()].to_string(),
                )
            } else {
                // Follow-ups only in conversations already open, so the pending, snoozed and
                // resolved examples keep showing their state.
                let (name, phone, first, more) = CUSTOMERS[STILL_OPEN[n % STILL_OPEN.len()]];
                let text = more
                    .get((n / CUSTOMERS.len()) % (more.len() + 1))
                    .unwrap_or(&first);
                (name.to_string(), phone.to_string(), text.to_string())
            };
            if let Err(e) = self.inbound(channel, secret, (&name, &phone), &text).await {
                eprintln!("demo customer: {e}");
            }
        }
    }
}
