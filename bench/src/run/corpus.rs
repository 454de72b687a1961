//! The synthetic Go monorepo: N files in packages, one cited construct per file, committed with
//! git2, then a history of commits that insert, delete and move code above, inside and below
//! the cited ranges, rename files and weaken a few constructs.

use std::path::{Path, PathBuf};

use anyhow::Result;
use git2::{IndexEntry, IndexTime, Oid, Repository, Signature, Time};

use crate::gogen::{self, Cited, Decl, Rng};

/// One Go file as a list of top-level declarations, one of them cited.
struct FileModel {
    path: String,
    package: String,
    decls: Vec<Decl>,
    cited: usize,
    meta: Cited,
    next_id: usize,
    weakened: bool,
}

const IMPORTS: &str = "import (\n\t\"crypto/hmac\"\n\t\"crypto/tls\"\n\t\"crypto/x509\"\n\t\"fmt\"\n\t\"log\"\n\t\"net/http\"\n\t\"strings\"\n\t\"sync\"\n\n\t\"github.com/gin-gonic/gin\"\n\t\"github.com/go-chi/chi/v5\"\n\t\"github.com/gorilla/mux\"\n\t\"github.com/labstack/echo/v4\"\n)\n";

impl FileModel {
    /// The file's text and the 1-based lines of the cited declaration.
    fn render(&self) -> (String, (u32, u32)) {
        let mut out = format!(
            "// Code in package {} is synthetic benchmark input.\n\npackage {}\n\n{IMPORTS}",
            self.package, self.package
        );
        let mut lines = (0, 0);
        for (i, d) in self.decls.iter().enumerate() {
            out.push('\n');
            if i == self.cited {
                let start = out.matches('\n').count() as u32 + 1;
                lines = (start, start + d.text.matches('\n').count() as u32 - 1);
            }
            out.push_str(&d.text);
        }
        (out, lines)
    }

    fn filler(&mut self, rng: &mut Rng) -> Decl {
        self.next_id += 1;
        let lines = 8 + rng.below(50);
        gogen::filler(rng, self.next_id, lines)
    }

    /// Indexes of declarations that may be deleted (not cited, not the path constants).
    fn deletable(&self, range: std::ops::Range<usize>) -> Vec<usize> {
        range
            .filter(|&i| i != self.cited && self.decls[i].name != "pathHealth")
            .collect()
    }
}

/// Where one cited construct is at the first commit and at HEAD.
#[derive(Clone, Debug)]
pub struct CitedRef {
    pub first_path: String,
    pub first_lines: (u32, u32),
    pub head_path: String,
    pub head_lines: (u32, u32),
    pub expect: Vec<String>,
    pub symbol: Option<String>,
    pub grep: String,
    pub weakened: bool,
}

pub struct Corpus {
    pub repo: PathBuf,
    pub first: String,
    pub commits: usize,
    pub bytes_at_head: usize,
    pub refs: Vec<CitedRef>,
}

fn add(repo: &Repository, index: &mut git2::Index, path: &str, bytes: &[u8]) -> Result<()> {
    let id = repo.blob(bytes)?;
    index.add(&IndexEntry {
        ctime: IndexTime::new(0, 0),
        mtime: IndexTime::new(0, 0),
        dev: 0,
        ino: 0,
        mode: 0o100644,
        uid: 0,
        gid: 0,
        file_size: bytes.len() as u32,
        id,
        flags: path.len().min(0xfff) as u16,
        flags_extended: 0,
        path: path.as_bytes().to_vec(),
    })?;
    Ok(())
}

fn commit(
    repo: &Repository,
    index: &mut git2::Index,
    n: usize,
    subject: &str,
    parent: Option<Oid>,
) -> Result<Oid> {
    let tree = repo.find_tree(index.write_tree()?)?;
    let sig = Signature::new(
        "Bench",
        "bench@example.com",
        &Time::new(1_700_000_000 + n as i64 * 3600, 0),
    )?;
    let parents: Vec<git2::Commit<'_>> = parent
        .map(|p| repo.find_commit(p))
        .transpose()?
        .into_iter()
        .collect();
    let parent_refs: Vec<&git2::Commit<'_>> = parents.iter().collect();
    Ok(repo.commit(Some("HEAD"), &sig, &sig, subject, &tree, &parent_refs)?)
}

/// Builds the repository in `dir/repo`: `files` files, then `commits` commits of edits that
/// touch mostly the first `hot` files (the ones the K = 1,000 anchors cite).
pub fn generate(dir: &Path, seed: u64, files: usize, commits: usize, hot: usize) -> Result<Corpus> {
    let mut rng = Rng::new(seed);
    let repo_dir = dir.join("repo");
    let repo = Repository::init(&repo_dir)?;
    let mut index = repo.index()?;
    let mut models = Vec::with_capacity(files);
    for id in 0..files {
        let package = format!("pkg{}", id / 8);
        let path = format!(
            "svc/{}/{package}/{}_{id}.go",
            gogen::WORDS[id / 8 % gogen::WORDS.len()],
            gogen::WORDS[id % gogen::WORDS.len()]
        );
        let meta = gogen::cited(&mut rng, id);
        let mut model = FileModel {
            path,
            package,
            decls: vec![gogen::path_constants(&format!("p{id}"))],
            cited: usize::MAX,
            meta: meta.clone(),
            next_id: 0,
            weakened: false,
        };
        let target = rng.file_size();
        let mut size = model.decls[0].text.len() + IMPORTS.len();
        let cited_after = rng.below(3_000.min(target / 2).max(1));
        while size < target {
            if model.cited == usize::MAX && size >= cited_after {
                model.cited = model.decls.len();
                model.decls.push(meta.decl.clone());
                size += meta.decl.text.len();
                continue;
            }
            let d = if rng.chance(15) {
                model.next_id += 1;
                gogen::type_decl(&mut rng, model.next_id)
            } else {
                model.filler(&mut rng)
            };
            size += d.text.len() + 1;
            model.decls.push(d);
        }
        if model.cited == usize::MAX {
            model.cited = model.decls.len();
            model.decls.push(meta.decl.clone());
        }
        add(&repo, &mut index, &model.path, model.render().0.as_bytes())?;
        models.push(model);
    }
    let first = commit(&repo, &mut index, 0, "Initial import", None)?;
    let first_places: Vec<(String, (u32, u32))> = models
        .iter()
        .map(|m| (m.path.clone(), m.render().1))
        .collect();

    let mut head = first;
    for c in 1..=commits {
        let mut touched = Vec::new();
        for _ in 0..24 {
            touched.push(rng.below(hot.min(files)));
        }
        for _ in 0..6 {
            touched.push(rng.below(files));
        }
        touched.sort_unstable();
        touched.dedup();
        for &f in &touched {
            let m = &mut models[f];
            let edit = rng.below(100);
            match edit {
                // Insert a function above the cited one.
                0..=19 => {
                    let at = rng.below(m.cited + 1);
                    let d = m.filler(&mut rng);
                    m.decls.insert(at, d);
                    m.cited += 1;
                }
                // Delete an unrelated declaration above it.
                20..=31 => {
                    let options = m.deletable(0..m.cited);
                    if !options.is_empty() {
                        m.decls.remove(*rng.pick(&options));
                        m.cited -= 1;
                    }
                }
                // A line added inside the cited declaration (after its signature).
                32..=46 => {
                    let text = &mut m.meta.decl.text;
                    if let Some(open) = text.find("{\n") {
                        text.insert_str(open + 2, &format!("\t// reviewed in change {c}\n"));
                    }
                    m.decls[m.cited] = m.meta.decl.clone();
                }
                // Code added or deleted below it.
                47..=61 => {
                    let at = m.cited + 1 + rng.below(m.decls.len() - m.cited);
                    let d = m.filler(&mut rng);
                    m.decls.insert(at, d);
                }
                62..=69 => {
                    let options = m.deletable(m.cited + 1..m.decls.len());
                    if !options.is_empty() {
                        m.decls.remove(*rng.pick(&options));
                    }
                }
                // Move the cited declaration elsewhere in the file.
                70..=81 => {
                    let d = m.decls.remove(m.cited);
                    m.cited = rng.below(m.decls.len() + 1);
                    m.decls.insert(m.cited, d);
                }
                // An edit inside an unrelated function that keeps its length.
                82..=93 => {
                    let options = m.deletable(0..m.decls.len());
                    if !options.is_empty() {
                        let i = *rng.pick(&options);
                        m.decls[i].text = m.decls[i].text.replacen("total := 0", "total := 1", 1);
                    }
                }
                // Rename the file within its package.
                94..=97 => {
                    let old = m.path.clone();
                    m.path = old.replace(".go", &format!("_r{c}.go"));
                    index.remove_path(Path::new(&old))?;
                }
                // Weaken the construct: the ref is broken at HEAD.
                _ => {
                    if let Some((from, to)) = m.meta.weaken.clone()
                        && !m.weakened
                    {
                        m.meta.decl.text = m.meta.decl.text.replacen(&from, &to, 1);
                        m.decls[m.cited] = m.meta.decl.clone();
                        m.weakened = true;
                    }
                }
            }
            add(&repo, &mut index, &m.path, m.render().0.as_bytes())?;
        }
        head = commit(
            &repo,
            &mut index,
            c,
            &format!("Change {c}: edit {} files", touched.len()),
            Some(head),
        )?;
    }
    index.write()?;

    let mut bytes_at_head = 0;
    let refs = models
        .iter()
        .zip(first_places)
        .enumerate()
        .map(|(i, (m, (first_path, first_lines)))| {
            let (text, head_lines) = m.render();
            bytes_at_head += text.len();
            CitedRef {
                first_path,
                first_lines,
                head_path: m.path.clone(),
                head_lines,
                expect: m.meta.expect.clone(),
                symbol: (i % 2 == 0).then(|| m.meta.decl.name.clone()),
                grep: m.meta.grep.clone(),
                weakened: m.weakened,
            }
        })
        .collect();
    Ok(Corpus {
        repo: repo_dir,
        first: first.to_string(),
        commits,
        bytes_at_head,
        refs,
    })
}

/// anchors.yaml for the first `k` refs: at HEAD's lines, or (`relocate`) at the first commit's
/// lines with `at` set to it.
pub fn anchors_yaml(corpus: &Corpus, k: usize, relocate: bool) -> String {
    let mut out = String::from("version: 1\nrepo: repo\nrev: HEAD\nclaims:\n");
    for (i, r) in corpus.refs.iter().take(k).enumerate() {
        let (path, (a, b)) = if relocate {
            (&r.first_path, r.first_lines)
        } else {
            (&r.head_path, r.head_lines)
        };
        out.push_str(&format!(
            "  - id: claim-{i}\n    status: required\n    refs:\n      - path: {path}\n        lines: {a}-{b}\n"
        ));
        if relocate {
            out.push_str(&format!("        at: {}\n", corpus.first));
        }
        if let Some(s) = &r.symbol {
            out.push_str(&format!("        symbol: {s}\n"));
        }
        out.push_str("        expect:\n");
        for e in &r.expect {
            out.push_str(&format!("          - {e}\n"));
        }
    }
    out
}
