//! Realistic Go declarations for the synthetic monorepo: handlers with guards, routers of every
//! supported kind, TLS configs, long unrelated functions and comments, each a cited construct
//! with the anchors.yaml expectations that hold on it.

/// splitmix64: a seeded generator, so the same seed gives the same repository everywhere.
#[derive(Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (n > 0).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    /// True with probability `percent` / 100.
    pub fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }

    /// A file size like a real repository's: mostly 2-20 KB (log-uniform), a tail to 300 KB.
    pub fn file_size(&mut self) -> usize {
        let (lo, hi): (f64, f64) = match self.below(100) {
            0..=86 => (2_000.0, 20_000.0),
            87..=97 => (20_000.0, 80_000.0),
            _ => (80_000.0, 300_000.0),
        };
        let u = (self.next() >> 11) as f64 / (1u64 << 53) as f64;
        (lo * (hi / lo).powf(u)) as usize
    }
}

pub const WORDS: &[&str] = &[
    "agent", "tenant", "policy", "bundle", "ledger", "quota", "shard", "token", "session", "audit",
    "mesh", "relay", "vault", "cache", "probe", "router", "event", "stream", "plan", "scope",
];

fn word(rng: &mut Rng) -> &'static str {
    WORDS[rng.below(WORDS.len())]
}

fn title(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_uppercase().collect::<String>() + c.as_str())
        .unwrap_or_default()
}

/// One top-level declaration: its text (ending in a newline) and its name.
#[derive(Clone, Debug)]
pub struct Decl {
    pub text: String,
    pub name: String,
}

/// A declaration worth citing, with the anchors.yaml `expect` items (YAML flow style) that hold
/// on exactly its lines, the symbol it declares, and a phrase the shell loop can grep for.
#[derive(Clone, Debug)]
pub struct Cited {
    pub decl: Decl,
    pub expect: Vec<String>,
    pub grep: String,
    /// Text that, substituted for `grep`, weakens the construct (a fail-open edit), if any.
    pub weaken: Option<(String, String)>,
}

/// An unrelated function, roughly `lines` long: loops, switches, struct literals and comments.
pub fn filler(rng: &mut Rng, id: usize, lines: usize) -> Decl {
    let name = format!("compute{}{id}", title(word(rng)));
    let mut body = String::new();
    let mut n = 0;
    while n < lines {
        let w = word(rng);
        let k = rng.below(1000);
        match rng.below(6) {
            0 => {
                body.push_str(&format!(
                    "\tfor i := 0; i < len(items); i++ {{\n\t\tif items[i].{} > {k} {{\n\t\t\ttotal += items[i].{}\n\t\t\tcontinue\n\t\t}}\n\t\ttotal -= {k}\n\t}}\n",
                    title(w),
                    title(w)
                ));
                n += 7;
            }
            1 => {
                body.push_str(&format!(
                    "\tswitch mode {{\n\tcase \"{w}\":\n\t\ttotal *= 2\n\tcase \"{w}-{k}\":\n\t\ttotal += {k}\n\tdefault:\n\t\ttotal = total % {}\n\t}}\n",
                    k + 7
                ));
                n += 8;
            }
            2 => {
                body.push_str(&format!(
                    "\t// {w} totals are clamped so a single noisy {w} cannot starve the others;\n\t// see the capacity notes for why {k} was chosen.\n\tif total > {k} {{\n\t\ttotal = {k}\n\t}}\n"
                ));
                n += 5;
            }
            3 => {
                body.push_str(&format!(
                    "\tstats := map[string]int{{\n\t\t\"{w}\": total,\n\t\t\"limit\": {k},\n\t\t\"seen\": len(items),\n\t}}\n\tfor key, v := range stats {{\n\t\tlabels = append(labels, fmt.Sprintf(\"%s=%d\", key, v))\n\t}}\n"
                ));
                n += 8;
            }
            4 => {
                body.push_str(&format!(
                    "\tmsg := `{w} report:\nfunc not{k}() {{ // inside a raw string\n}}`\n\tlabels = append(labels, strings.TrimSpace(msg))\n"
                ));
                n += 4;
            }
            _ => {
                body.push_str(&format!(
                    "\tif err := validate{}(items, {k}); err != nil {{\n\t\tlog.Printf(\"{w}: %v\", err)\n\t}}\n",
                    title(w)
                ));
                n += 3;
            }
        }
    }
    Decl {
        text: format!(
            "// {name} aggregates {} figures for the dashboard.\nfunc {name}(items []Item, mode string) (int, []string) {{\n\ttotal := 0\n\tvar labels []string\n{body}\treturn total, labels\n}}\n",
            word(rng)
        ),
        name,
    }
}

/// A small type with a method, for variety.
pub fn type_decl(rng: &mut Rng, id: usize) -> Decl {
    let w = title(word(rng));
    let name = format!("{w}Store{id}");
    Decl {
        text: format!(
            "// {name} keeps {w} records in memory.\ntype {name} struct {{\n\tmu    sync.Mutex\n\titems map[string]Item\n\tlimit int\n}}\n\n// Get returns one record.\nfunc (s *{name}) Get(key string) (Item, bool) {{\n\ts.mu.Lock()\n\tdefer s.mu.Unlock()\n\tit, ok := s.items[key]\n\treturn it, ok\n}}\n"
        ),
        name,
    }
}

/// A package-level constant block of route paths, which `routes` resolves.
pub fn path_constants(pkg: &str) -> Decl {
    Decl {
        text: format!(
            "const (\n\tpathHealth = \"/healthz\"\n\tpathMetrics = \"/metrics\"\n\tpathPrefix = \"/{pkg}\"\n)\n"
        ),
        name: "pathHealth".into(),
    }
}

/// The cited construct of file number `id`: one of the kinds anchorcheck understands.
pub fn cited(rng: &mut Rng, id: usize) -> Cited {
    let w = word(rng);
    let v = format!("/v1/{w}{id}");
    match id % 10 {
        0 => {
            let name = format!("register{}Routes{id}", title(w));
            Cited {
                decl: Decl {
                    text: format!(
                        "// {name} mounts the {w} API on the mTLS listener (Go 1.22 patterns).\nfunc {name}(mtlsMux *http.ServeMux, h *Handlers) {{\n\tmtlsMux.HandleFunc(\"GET {v}/{{id}}\", h.get)\n\tmtlsMux.HandleFunc(\"POST {v}\", h.create)\n\tmtlsMux.Handle(pathHealth, h.health)\n}}\n"
                    ),
                    name: name.clone(),
                },
                expect: vec![format!(
                    "{{ routes: {{ on: mtlsMux, paths: [\"{v}/{{id}}\", {v}, /healthz], exactly: true }} }}"
                )],
                grep: "HandleFunc".into(),
                weaken: None,
            }
        }
        1 => {
            let name = format!("new{}Router{id}", title(w));
            Cited {
                decl: Decl {
                    text: format!(
                        "func {name}(h *Handlers) *mux.Router {{\n\tr := mux.NewRouter()\n\tr.HandleFunc(\"{v}\", h.list).Methods(\"GET\")\n\tapi := r.PathPrefix(\"/api\").Subrouter()\n\tapi.HandleFunc(\"/{w}\", h.create).Methods(\"POST\")\n\treturn r\n}}\n"
                    ),
                    name: name.clone(),
                },
                expect: vec![format!("{{ routes: {{ on: r, paths: [{v}, /api/{w}] }} }}")],
                grep: "Subrouter".into(),
                weaken: None,
            }
        }
        2 => {
            let name = format!("mount{}{id}", title(w));
            Cited {
                decl: Decl {
                    text: format!(
                        "func {name}(r chi.Router, h *Handlers) {{\n\tr.Route(\"/v2\", func(r chi.Router) {{\n\t\tr.Get(\"/{w}\", h.list)\n\t\tr.Post(\"/{w}/{id}\", h.create)\n\t}})\n}}\n"
                    ),
                    name: name.clone(),
                },
                expect: vec![format!(
                    "{{ routes: {{ paths: [/v2/{w}, /v2/{w}/{id}] }} }}"
                )],
                grep: "r.Route".into(),
                weaken: None,
            }
        }
        3 => {
            let name = format!("setup{}Gin{id}", title(w));
            Cited {
                decl: Decl {
                    text: format!(
                        "func {name}(engine *gin.Engine, h *Handlers) {{\n\tv1 := engine.Group(\"/v1\")\n\tv1.GET(\"/{w}\", h.ginList)\n\tv1.POST(\"/{w}\", h.ginCreate)\n}}\n"
                    ),
                    name: name.clone(),
                },
                expect: vec![format!(
                    "{{ routes: {{ on: engine, paths: [/v1/{w}], methods: [GET] }} }}"
                )],
                grep: "Group".into(),
                weaken: None,
            }
        }
        4 => {
            let name = format!("setup{}Echo{id}", title(w));
            Cited {
                decl: Decl {
                    text: format!(
                        "func {name}(e *echo.Echo, h *Handlers) {{\n\tadmin := e.Group(\"/admin\")\n\tadmin.POST(\"/{w}\", h.echoCreate)\n\tadmin.DELETE(\"/{w}/:id\", h.echoDelete)\n}}\n"
                    ),
                    name: name.clone(),
                },
                expect: vec![format!(
                    "{{ routes: {{ on: e, paths: [/admin/{w}, \"/admin/{w}/:id\"] }} }}"
                )],
                grep: "admin.POST".into(),
                weaken: None,
            }
        }
        5 | 6 => {
            let name = format!("serve{}{id}", title(w));
            Cited {
                decl: Decl {
                    text: format!(
                        "// {name} rejects callers without a verified client certificate.\nfunc {name}(w http.ResponseWriter, r *http.Request) {{\n\tif !mtlsVerified(r) {{\n\t\thttp.Error(w, \"client certificate required\", http.StatusUnauthorized)\n\t\treturn\n\t}}\n\tw.Header().Set(\"Content-Type\", \"application/json\")\n\tfmt.Fprintf(w, `{{\"{w}\": %d}}`, {id})\n}}\n"
                    ),
                    name: name.clone(),
                },
                expect: vec![
                    "{ fail_closed: { when: \"(?i)mtls\" } }".to_string(),
                    "{ not: { call: log.Printf } }".to_string(),
                ],
                grep: "mtlsVerified".into(),
                weaken: Some((
                    "http.Error(w, \"client certificate required\", http.StatusUnauthorized)\n\t\treturn".into(),
                    "log.Printf(\"client certificate missing\")".into(),
                )),
            }
        }
        7 => {
            let name = format!("new{}TLSConfig{id}", title(w));
            Cited {
                decl: Decl {
                    text: format!(
                        "// {name} is the server side of the {w} listener.\nfunc {name}(pool *x509.CertPool) *tls.Config {{\n\treturn &tls.Config{{\n\t\tClientAuth: tls.RequireAndVerifyClientCert,\n\t\tClientCAs:  pool,\n\t\tMinVersion: tls.VersionTLS13,\n\t}}\n}}\n"
                    ),
                    name: name.clone(),
                },
                expect: vec![
                    "{ tls: { client_auth: require_and_verify, min_version: \"1.2\" } }".into(),
                ],
                grep: "RequireAndVerifyClientCert".into(),
                weaken: Some((
                    "tls.RequireAndVerifyClientCert".into(),
                    "tls.VerifyClientCertIfGiven".into(),
                )),
            }
        }
        8 => {
            let name = format!("mustLoad{}{id}", title(w));
            Cited {
                decl: Decl {
                    text: format!(
                        "func {name}(cfg Config) {{\n\tif cfg.RequireMTLS && cfg.CAFile == \"\" {{\n\t\tlog.Fatalf(\"{w}: mTLS required but no CA file\")\n\t}}\n\tif !hmac.Equal(cfg.Sig, cfg.Want) {{\n\t\tpanic(\"CAP-{id:04}\")\n\t}}\n}}\n"
                    ),
                    name: name.clone(),
                },
                expect: vec![
                    "{ call: log.Fatal* }".into(),
                    "{ call: { name: hmac.Equal, args: [_, _] } }".into(),
                    format!("{{ string: CAP-{id:04} }}"),
                ],
                grep: "log.Fatalf".into(),
                weaken: Some(("log.Fatalf".into(), "log.Printf".into())),
            }
        }
        _ => {
            let name = format!("check{}{id}", title(w));
            Cited {
                decl: Decl {
                    text: format!(
                        "func {name}(req *Request) error {{\n\t// requireSPIFFE must stay first: see the capability page.\n\tif err := requireSPIFFE(req); err != nil {{\n\t\treturn fmt.Errorf(\"{w}: %w\", err)\n\t}}\n\treturn nil\n}}\n"
                    ),
                    name: name.clone(),
                },
                expect: vec![
                    "{ identifier: requireSPIFFE }".into(),
                    "{ text: \"return fmt.Errorf\" }".into(),
                    "{ regex: \"if err := require[A-Z]+\" }".into(),
                ],
                grep: "requireSPIFFE".into(),
                weaken: None,
            }
        }
    }
}
