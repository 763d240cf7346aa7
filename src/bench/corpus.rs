//! Realistic, varied data for the generated benchmark database: customer names from several
//! languages and scripts (accents, Arabic, a few emoji), phone numbers stored in the form the
//! doors have written them, and messages in English, Portuguese, Spanish, German, French,
//! Turkish and Arabic, from a one-word "ok" to a few sentences. Seeded, so runs compare.

use crate::store::bench::{Customer, Rng};

const FIRST: &[&str] = &[
    "Maria", "José", "João", "Ana", "Pedro", "Inês", "Fatima", "Mohammed", "Ahmed", "Aisha",
    "Omar", "Layla", "Jürgen", "Lena", "Lukas", "Sophie", "Emma", "Liam", "Noah", "Olivia",
    "Chloé", "Léa", "Hugo", "Carmen", "Javier", "Lucía", "Mehmet", "Elif", "Ayşe", "Priya",
    "Arjun", "Wei", "Li", "Yuki", "Kenji", "Ngozi", "Chinedu", "Olga", "Dmitri", "Zofia", "Søren",
    "Mariana", "Marco", "Rui", "Sara", "David", "Daniel", "Laura", "Tomás", "Joana",
];
const LAST: &[&str] = &[
    "Silva",
    "Santos",
    "Ferreira",
    "Costa",
    "Oliveira",
    "Pereira",
    "Haddad",
    "Khalil",
    "Mansour",
    "Nasser",
    "Müller",
    "Schmidt",
    "Schneider",
    "Fischer",
    "Weber",
    "García",
    "Martínez",
    "López",
    "Dubois",
    "Lefèvre",
    "Smith",
    "Johnson",
    "Brown",
    "Yılmaz",
    "Kaya",
    "Sharma",
    "Patel",
    "Wang",
    "Zhang",
    "Tanaka",
    "Okafor",
    "Ivanova",
    "Nowak",
    "Jensen",
    "Rodrigues",
    "Almeida",
    "Gonçalves",
    "Marques",
    "Sousa",
    "Carvalho",
];
const FIRST_AR: &[&str] = &[
    "محمد",
    "فاطمة",
    "أحمد",
    "علي",
    "مريم",
    "يوسف",
    "خديجة",
    "نور",
    "مُحَمَّد",
    "سارة",
];
const LAST_AR: &[&str] = &["الحسن", "العلي", "حداد", "منصور", "خليل", "الشامي", "نصار"];
const EMOJI: &[&str] = &["🌸", "⭐", "😊", "🙏", "💐", "🏠", "☕"];

/// Country code and national number length of the numbers generated.
const COUNTRIES: &[(&str, usize)] = &[
    ("351", 9),
    ("49", 11),
    ("44", 10),
    ("1", 10),
    ("34", 9),
    ("33", 9),
    ("966", 9),
    ("971", 9),
    ("90", 10),
    ("91", 10),
];

const PRODUCTS: &[&str] = &[
    "leather jacket",
    "sneakers",
    "sofa",
    "lamp",
    "phone case",
    "backpack",
    "dress",
    "coffee beans",
    "birthday cake",
    "winter coat",
    "sunglasses",
    "desk chair",
    "gift card",
    "yoga mat",
];
const CITIES: &[&str] = &[
    "Lisbon", "Porto", "Berlin", "Madrid", "Paris", "London", "Dubai", "Istanbul", "Riyadh",
];
const DAYS: &[&str] = &[
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
];

/// Message templates, most frequent first ({p} product, {n} order number, {c} city, {d} day).
const TEMPLATES: &[&str] = &[
    "ok",
    "Thanks!",
    "👍",
    "Obrigado!",
    "شكرا جزيلا",
    "Hi, is the {p} still available?",
    "When will my order #{n} arrive?",
    "Olá, ainda tem {p} em stock?",
    "Quando chega a minha encomenda {n}?",
    "Hola, ¿tienen {p} en talla M?",
    "Hallo, ist die Lieferung für Bestellung {n} schon unterwegs?",
    "مرحبا، هل المنتج متوفر؟",
    "متى يصل طلبي رقم {n}؟",
    "Can I pay by card when it is delivered?",
    "Do you deliver to {c}? How much is shipping?",
    "Your order #{n} has shipped and should arrive on {d} 📦",
    "Yes, the {p} is back in stock, size M and L.",
    "The {p} I got is the wrong size, can I exchange it for a bigger one?",
    "What time do you open on {d}?",
    "Bonjour, le café est arrivé ? Merci beaucoup !",
    "Merhaba, siparişim ne zaman gelir?",
    "I'd like a refund for order {n}, it arrived damaged 😞",
    "Posso pagar com MB Way ou só multibanco?",
    "¿Cuánto cuesta el envío a {c}?",
    "Können Sie mir die Rechnung schicken? Vielen Dank!",
    "كم سعر التوصيل إلى دبي؟",
    "Perfect, see you on {d} then 🙏",
    "Could you send me a photo of the {p} in blue?",
];

/// Everything one generated conversation needs, from a seeded sequence.
pub struct Corpus {
    rng: Rng,
    /// Average messages per conversation.
    per: usize,
}

impl Corpus {
    /// A corpus averaging `per` messages per conversation.
    pub fn new(seed: u64, per: usize) -> Corpus {
        Corpus {
            rng: Rng::new(seed),
            per,
        }
    }

    fn pick<'a>(&mut self, list: &[&'a str]) -> &'a str {
        list[self.rng.below(list.len() as u64) as usize]
    }

    /// Zipf-like: early entries of `list` much more often than late ones.
    fn pick_skewed<'a>(&mut self, list: &[&'a str]) -> &'a str {
        let a = self.rng.below(list.len() as u64);
        let b = self.rng.below(list.len() as u64);
        list[a.min(b) as usize]
    }

    /// The name of customer `i`.
    pub fn name(&mut self) -> String {
        let roll = self.rng.below(100);
        let mut name = if roll < 12 {
            format!("{} {}", self.pick(FIRST_AR), self.pick(LAST_AR))
        } else if roll < 17 {
            self.pick(FIRST).to_string()
        } else {
            format!("{} {}", self.pick(FIRST), self.pick(LAST))
        };
        if self.rng.below(100) < 4 {
            name.push(' ');
            name.push_str(self.pick(EMOJI));
        }
        name
    }

    /// A phone number as the doors store it since migration 007: E.164 `+digits`
    /// (`domain::phone::canonical`), or none.
    pub fn phone(&mut self) -> Option<String> {
        let (cc, len) = COUNTRIES[self.rng.below(COUNTRIES.len() as u64) as usize];
        let national: String = (0..len)
            .map(|i| {
                let d = self.rng.below(10) as u8;
                // National numbers do not start with 0.
                char::from(b'0' + if i == 0 { d.max(1) } else { d })
            })
            .collect();
        match self.rng.below(100) {
            0..92 => Some(format!("+{cc}{national}")),
            _ => None,
        }
    }

    /// One message text: a template with its blanks filled, sometimes two or three together.
    pub fn message(&mut self) -> String {
        let sentences = match self.rng.below(10) {
            0..7 => 1,
            7..9 => 2,
            _ => 3,
        };
        let mut out = Vec::with_capacity(sentences);
        for _ in 0..sentences {
            let t = self.pick_skewed(TEMPLATES);
            let text = t
                .replace("{p}", self.pick(PRODUCTS))
                .replace("{c}", self.pick(CITIES))
                .replace("{d}", self.pick(DAYS))
                .replace("{n}", &(10_000 + self.rng.below(90_000)).to_string());
            out.push(text);
        }
        out.join(" ")
    }

    /// A whole customer: name, phone and 1 to 2×`per`−1 messages (about `per` on average).
    pub fn customer(&mut self) -> Customer {
        let name = self.name();
        let phone = self.phone();
        let n = 1 + self
            .rng
            .below((2 * self.per).saturating_sub(1).max(1) as u64) as usize;
        let messages = (0..n).map(|_| self.message()).collect();
        Customer {
            name,
            phone,
            messages,
        }
    }
}
