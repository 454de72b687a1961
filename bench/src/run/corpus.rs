//! The synthetic Go monorepo: N files in packages, one cited construct per file, committed with
//! git2, then a history of commits that insert, delete and move code above, inside and below
//! the cited ranges, rename files, copy cited code into new files and delete it from the old
//! ones later, and weaken a few constructs. How often a commit touches the cited files is the
//! history's [`Shape`]: every commit (a dense history), or one in twenty as in a monorepo where
//! most commits touch none of them.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use anyhow::Result;
use git2::{IndexEntry, IndexTime, Oid, Repository, Signature, Time};

use crate::gogen::{self, Cited, Decl, Rng};

/// One Go file as a list of top-level declarations, at most one of them cited.
struct FileModel {
    path: String,
    package: String,
    decls: Vec<Decl>,
    /// The index of the cited declaration, when the file holds one.
    cited: Option<usize>,
    next_id: usize,
}

/// One cited construct: what it is and which file holds it.
struct RefModel {
    meta: Cited,
    model: usize,
    weakened: bool,
    /// Copied into another file (this model) and to be deleted from its own at that commit.
    moving: Option<(usize, usize)>,
}

const IMPORTS: &str = "import (\n\t\"crypto/hmac\"\n\t\"crypto/tls\"\n\t\"crypto/x509\"\n\t\"fmt\"\n\t\"log\"\n\t\"net/http\"\n\t\"strings\"\n\t\"sync\"\n\n\t\"github.com/gin-gonic/gin\"\n\t\"github.com/go-chi/chi/v5\"\n\t\"github.com/gorilla/mux\"\n\t\"github.com/labstack/echo/v4\"\n)\n";

impl FileModel {
    /// The file's text and the 1-based lines of the cited declaration ((0, 0) without one).
    fn render(&self) -> (String, (u32, u32)) {
        let mut out = format!(
            "// Code in package {} is synthetic benchmark input.\n\npackage {}\n\n{IMPORTS}",
            self.package, self.package
        );
        let mut lines = (0, 0);
        for (i, d) in self.decls.iter().enumerate() {
            out.push('\n');
            if Some(i) == self.cited {
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
            .filter(|&i| Some(i) != self.cited && self.decls[i].name != "pathHealth")
            .collect()
    }

    /// Inserts `d` at `at`, keeping the cited index right.
    fn insert(&mut self, at: usize, d: Decl) {
        self.decls.insert(at, d);
        if let Some(c) = self.cited.as_mut().filter(|c| **c >= at) {
            *c += 1;
        }
    }

    /// Removes the declaration at `at` (never the cited one), keeping the cited index right.
    fn remove(&mut self, at: usize) {
        self.decls.remove(at);
        if let Some(c) = self.cited.as_mut().filter(|c| **c > at) {
            *c -= 1;
        }
    }
}

/// How a history touches the files: which commits edit cited files, and how many files each
/// commit edits.
#[derive(Clone, Copy, Debug)]
pub struct Shape {
    /// One commit in this many (on average) edits cited files; the others edit only others.
    pub touch_every: usize,
    /// Cited files such a commit edits, at most.
    pub hot_per_commit: usize,
    /// Other files every commit edits, at most.
    pub cold_per_commit: usize,
}

impl Shape {
    /// Every commit edits about 30 files, 24 of them cited: the bench's first history.
    pub const DENSE: Shape = Shape {
        touch_every: 1,
        hot_per_commit: 24,
        cold_per_commit: 6,
    };
    /// A monorepo: one commit in twenty edits one to three cited files, every commit one to
    /// three other files.
    pub const MONOREPO: Shape = Shape {
        touch_every: 20,
        hot_per_commit: 3,
        cold_per_commit: 3,
    };
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
    /// Commits that edited a cited file, renames and copy-then-delete moves of cited code.
    pub hot_commits: usize,
    pub renames: usize,
    pub moves: usize,
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

/// The history being written: the file models, the cited constructs, and what each commit
/// changed.
struct History {
    models: Vec<FileModel>,
    refs: Vec<RefModel>,
    rng: Rng,
    /// Models to write into the index before the next commit, and paths to remove from it.
    dirty: BTreeSet<usize>,
    gone: Vec<String>,
    renames: usize,
    moves: usize,
}

impl History {
    /// One edit of cited construct `r` at commit `c`: the mix of a real file's history.
    fn edit_cited(&mut self, r: usize, c: usize) {
        let f = self.refs[r].model;
        let rng = &mut self.rng;
        let m = &mut self.models[f];
        let Some(cited) = m.cited else { return };
        self.dirty.insert(f);
        match rng.below(100) {
            // Insert a function above the cited one.
            0..=19 => {
                let at = rng.below(cited + 1);
                let d = m.filler(rng);
                m.insert(at, d);
            }
            // Delete an unrelated declaration above it.
            20..=31 => {
                let options = m.deletable(0..cited);
                if !options.is_empty() {
                    m.remove(*rng.pick(&options));
                }
            }
            // A line added inside the cited declaration (after its signature).
            32..=46 => {
                let meta = &mut self.refs[r].meta;
                if let Some(open) = meta.decl.text.find("{\n") {
                    meta.decl
                        .text
                        .insert_str(open + 2, &format!("\t// reviewed in change {c}\n"));
                }
                m.decls[cited] = meta.decl.clone();
            }
            // Code added or deleted below it.
            47..=61 => {
                let at = cited + 1 + rng.below(m.decls.len() - cited);
                let d = m.filler(rng);
                m.insert(at, d);
            }
            62..=69 => {
                let options = m.deletable(cited + 1..m.decls.len());
                if !options.is_empty() {
                    m.remove(*rng.pick(&options));
                }
            }
            // Move the cited declaration elsewhere in the file.
            70..=81 => {
                let d = m.decls.remove(cited);
                let at = rng.below(m.decls.len() + 1);
                m.decls.insert(at, d);
                m.cited = Some(at);
            }
            // An edit inside an unrelated function that keeps its length.
            82..=90 => same_length_edit(m, rng),
            // Copy it into a new file of its own package directory's `split_C` package, to be
            // deleted from here some commits later (as a package split is done).
            91..=93 => {
                let dir = m.path.rsplit_once('/').map_or("", |(d, _)| d).to_string();
                let stem = m.path.rsplit('/').next().unwrap_or("x.go").to_string();
                let mut copy = FileModel {
                    path: format!("{dir}/split_{c}/{stem}"),
                    package: format!("split{c}"),
                    decls: vec![m.decls[0].clone(), m.decls[cited].clone()],
                    cited: Some(1),
                    next_id: 1_000,
                };
                let d = copy.filler(rng);
                copy.decls.push(d);
                self.models.push(copy);
                let to = self.models.len() - 1;
                self.refs[r].moving = Some((to, c + 1 + self.rng.below(100)));
                self.dirty.insert(to);
                self.moves += 1;
            }
            // Rename the file within its package.
            94..=97 => {
                let old = m.path.clone();
                m.path = old.replace(".go", &format!("_r{c}.go"));
                self.gone.push(old);
                self.renames += 1;
            }
            // Weaken the construct: the ref is broken at HEAD.
            _ => {
                let rm = &mut self.refs[r];
                if let Some((from, to)) = rm.meta.weaken.clone()
                    && !rm.weakened
                {
                    rm.meta.decl.text = rm.meta.decl.text.replacen(&from, &to, 1);
                    m.decls[cited] = rm.meta.decl.clone();
                    rm.weakened = true;
                }
            }
        }
    }

    /// One edit of a file whose cited construct this history does not follow.
    fn edit_other(&mut self, f: usize, c: usize) {
        let rng = &mut self.rng;
        let m = &mut self.models[f];
        self.dirty.insert(f);
        match rng.below(100) {
            0..=39 => {
                let at = rng.below(m.decls.len() + 1);
                let d = m.filler(rng);
                m.insert(at, d);
            }
            40..=59 => {
                let options = m.deletable(0..m.decls.len());
                if !options.is_empty() {
                    m.remove(*rng.pick(&options));
                }
            }
            60..=97 => same_length_edit(m, rng),
            _ => {
                let old = m.path.clone();
                m.path = old.replace(".go", &format!("_r{c}.go"));
                self.gone.push(old);
                self.renames += 1;
            }
        }
    }

    /// Ends the copy-then-delete moves due at commit `c`: the cited code leaves its old file.
    fn finish_moves(&mut self, c: usize) {
        for r in 0..self.refs.len() {
            let Some((to, due)) = self.refs[r].moving else {
                continue;
            };
            if due != c {
                continue;
            }
            let from = self.refs[r].model;
            let m = &mut self.models[from];
            if let Some(cited) = m.cited.take() {
                m.decls.remove(cited);
            }
            self.refs[r].model = to;
            self.refs[r].moving = None;
            self.dirty.insert(from);
        }
    }
}

fn same_length_edit(m: &mut FileModel, rng: &mut Rng) {
    let options = m.deletable(0..m.decls.len());
    if !options.is_empty() {
        let i = *rng.pick(&options);
        m.decls[i].text = m.decls[i].text.replacen("total := 0", "total := 1", 1);
    }
}

/// Builds the repository in `dir/repo`: `files` files, then `commits` commits shaped by
/// `shape`, whose cited edits fall on the first `hot` files (the ones the K = 1,000 anchors
/// cite).
pub fn generate(
    dir: &Path,
    seed: u64,
    files: usize,
    commits: usize,
    hot: usize,
    shape: Shape,
) -> Result<Corpus> {
    let mut rng = Rng::new(seed);
    let repo_dir = dir.join("repo");
    let repo = Repository::init(&repo_dir)?;
    let mut index = repo.index()?;
    let mut models = Vec::with_capacity(files);
    let mut refs = Vec::with_capacity(files);
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
            cited: None,
            next_id: 0,
        };
        let target = rng.file_size();
        let mut size = model.decls[0].text.len() + IMPORTS.len();
        let cited_after = rng.below(3_000.min(target / 2).max(1));
        while size < target {
            if model.cited.is_none() && size >= cited_after {
                model.cited = Some(model.decls.len());
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
        if model.cited.is_none() {
            model.cited = Some(model.decls.len());
            model.decls.push(meta.decl.clone());
        }
        add(&repo, &mut index, &model.path, model.render().0.as_bytes())?;
        models.push(model);
        refs.push(RefModel {
            meta,
            model: id,
            weakened: false,
            moving: None,
        });
    }
    let first = commit(&repo, &mut index, 0, "Initial import", None)?;
    let first_places: Vec<(String, (u32, u32))> = models
        .iter()
        .map(|m| (m.path.clone(), m.render().1))
        .collect();

    let mut h = History {
        models,
        refs,
        rng,
        dirty: BTreeSet::new(),
        gone: Vec::new(),
        renames: 0,
        moves: 0,
    };
    let hot = hot.min(files);
    let mut head = first;
    let mut hot_commits = 0;
    for c in 1..=commits {
        h.finish_moves(c);
        let touches_cited = h.rng.below(shape.touch_every.max(1)) == 0;
        if touches_cited && hot > 0 {
            hot_commits += 1;
            for _ in 0..1 + h.rng.below(shape.hot_per_commit.max(1)) {
                let r = h.rng.below(hot);
                if h.refs[r].moving.is_none() {
                    h.edit_cited(r, c);
                }
            }
        }
        for _ in 0..1 + h.rng.below(shape.cold_per_commit.max(1)) {
            let f = if files > hot {
                hot + h.rng.below(files - hot)
            } else {
                h.rng.below(files)
            };
            if f < hot {
                h.edit_cited(f, c);
            } else {
                h.edit_other(f, c);
            }
        }
        for old in h.gone.drain(..) {
            index.remove_path(Path::new(&old))?;
        }
        let dirty = std::mem::take(&mut h.dirty);
        for &f in &dirty {
            let m = &h.models[f];
            add(&repo, &mut index, &m.path, m.render().0.as_bytes())?;
        }
        head = commit(
            &repo,
            &mut index,
            c,
            &format!("Change {c}: edit {} files", dirty.len()),
            Some(head),
        )?;
    }
    index.write()?;

    let bytes_at_head: usize = h.models.iter().map(|m| m.render().0.len()).sum();
    let refs = h
        .refs
        .iter()
        .zip(first_places)
        .enumerate()
        .map(|(i, (r, (first_path, first_lines)))| {
            let m = &h.models[r.model];
            CitedRef {
                first_path,
                first_lines,
                head_path: m.path.clone(),
                head_lines: m.render().1,
                expect: r.meta.expect.clone(),
                symbol: (i % 2 == 0).then(|| r.meta.decl.name.clone()),
                grep: r.meta.grep.clone(),
                weakened: r.weakened,
            }
        })
        .collect();
    Ok(Corpus {
        repo: repo_dir,
        first: first.to_string(),
        commits,
        bytes_at_head,
        refs,
        hot_commits,
        renames: h.renames,
        moves: h.moves,
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
