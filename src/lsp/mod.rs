//! `anchorcheck lsp`: a language server for anchors.yaml, the docs pages it names and the Go
//! code they cite, over any [`lsp_server::Connection`] (the binary gives it stdio).
//!
//! It verifies the working tree with the editor's unsaved buffers laid over it
//! ([`crate::source::OverlayFiles`]), incrementally: an edit re-checks only the claims whose refs
//! cite the edited file (or whose evidence drifted into it), or whose entry in anchors.yaml
//! changed; a page edit re-checks only the citations. Messages that queue up while a check
//! runs are taken together, so an edit superseded by the next one is never checked on its own.
//! Nothing here writes a file: fixes are workspace edits the editor applies.
//!
//! This file is the message loop. `workspace` holds the state and decides what to re-check,
//! `check` runs one verification,
//! `diagnostics` turns verdicts into diagnostics; `hover`, `locate` (what is under the cursor,
//! go-to-definition), `completion`, `lenses` (CodeLens and inlay hints) and `actions` (the
//! `update citation` fix) answer requests; `capabilities` is what the server declares and asks
//! for, and `convert` translates URIs and positions.

mod actions;
mod capabilities;
mod check;
mod completion;
mod convert;
mod diagnostics;
mod hover;
mod lenses;
mod loaded;
mod locate;
mod workspace;
#[cfg(test)]
mod workspace_tests;

use std::collections::HashSet;
use std::panic::AssertUnwindSafe;
use std::path::{Path, PathBuf};

use lsp_server::{Connection, ErrorCode, Message, Notification, Request, RequestId, Response};
use lsp_types::notification::{
    DidChangeTextDocument, DidChangeWatchedFiles, DidCloseTextDocument, DidOpenTextDocument,
    DidSaveTextDocument, Notification as _, PublishDiagnostics,
};
use lsp_types::request::{
    CodeActionRequest, CodeLensRequest, Completion, GotoDefinition, HoverRequest, InlayHintRequest,
    Request as _,
};
use lsp_types::{
    CodeActionOrCommand, CompletionResponse, GotoDefinitionResponse, InitializeParams,
    PublishDiagnosticsParams, ServerInfo, Uri,
};

use loaded::Buffer;
use workspace::{Pending, Workspace};

pub use diagnostics::severity;

/// Why the server stopped other than by `shutdown` and `exit`.
#[derive(Debug, thiserror::Error)]
pub enum LspError {
    #[error("language server protocol: {0}")]
    Protocol(#[from] lsp_server::ProtocolError),
    #[error("the client closed the connection")]
    Disconnected,
    #[error("the initialize request's parameters are malformed: {0}")]
    Initialize(serde_json::Error),
}

/// The directory the workspace is in: its first folder, else its root.
#[allow(
    deprecated,
    reason = "root_uri and root_path are what older clients send"
)]
fn root_of(params: &InitializeParams) -> Option<PathBuf> {
    let folder = params
        .workspace_folders
        .as_ref()
        .and_then(|f| f.first())
        .and_then(|f| convert::uri_to_path(&f.uri));
    folder
        .or_else(|| params.root_uri.as_ref().and_then(convert::uri_to_path))
        .or_else(|| params.root_path.as_ref().map(PathBuf::from))
}

/// Serves one client until it asks to exit (or goes away). True when it asked to shut down
/// first, as the protocol wants (a server told to exit without it exits with status 1).
pub fn serve(connection: &Connection) -> Result<bool, LspError> {
    let (id, params) = connection.initialize_start()?;
    let params: InitializeParams = serde_json::from_value(params).map_err(LspError::Initialize)?;
    let result = lsp_types::InitializeResult {
        capabilities: capabilities::capabilities(capabilities::hints_for_lenses(&params)),
        server_info: Some(ServerInfo {
            name: "anchorcheck".to_string(),
            version: Some(env!("CARGO_PKG_VERSION").to_string()),
        }),
    };
    let result = serde_json::to_value(result).map_err(LspError::Initialize)?;
    connection.initialize_finish(id, result)?;
    if capabilities::watches_files(&params) {
        connection
            .sender
            .send(capabilities::watch_request().into())
            .map_err(|_| LspError::Disconnected)?;
    }
    let mut server = Server {
        connection,
        ws: Workspace {
            root: root_of(&params),
            ..Workspace::default()
        },
        published: HashSet::new(),
        shutting_down: false,
    };
    let left = server.check(Pending {
        reload: true,
        ..Pending::default()
    })?;
    server.main_loop(left)
}

struct Server<'c> {
    connection: &'c Connection,
    ws: Workspace,
    /// Files that were given diagnostics last time, to clear them when they have none.
    published: HashSet<PathBuf>,
    shutting_down: bool,
}

impl Server<'_> {
    /// Serves messages; `pending` is work asked for and not done yet (edits not checked,
    /// claims a newer message interrupted).
    fn main_loop(&mut self, mut pending: Pending) -> Result<bool, LspError> {
        loop {
            let first = if pending.is_empty() {
                self.connection.receiver.recv().ok()
            } else {
                match self.connection.receiver.try_recv() {
                    Ok(message) => Some(message),
                    Err(e) if e.is_empty() => {
                        pending = self.check(std::mem::take(&mut pending))?;
                        continue;
                    }
                    Err(_) => None,
                }
            };
            let Some(first) = first else {
                return Err(LspError::Disconnected);
            };
            // Everything queued meanwhile is taken together: edits first applied, then checked
            // once, so an edit the next one supersedes is never checked on its own.
            let mut batch = vec![first];
            batch.extend(self.connection.receiver.try_iter());
            for message in batch {
                match message {
                    Message::Notification(n) => {
                        if n.method == "exit" {
                            return Ok(self.shutting_down);
                        }
                        pending.merge(self.notification(n));
                    }
                    Message::Request(request) => {
                        // A request is answered on the state its preceding edits made.
                        if !pending.is_empty() {
                            pending = self.check(std::mem::take(&mut pending))?;
                        }
                        let id = request.id.clone();
                        let answered =
                            std::panic::catch_unwind(AssertUnwindSafe(|| self.request(request)));
                        match answered {
                            Ok(sent) => sent?,
                            Err(panic) => self.reply_error(
                                id,
                                ErrorCode::InternalError,
                                &format!("anchorcheck failed: {}", panic_message(panic.as_ref())),
                            )?,
                        }
                    }
                    Message::Response(_) => {}
                }
            }
            if !pending.is_empty() {
                pending = self.check(pending)?;
            }
        }
    }

    fn send(&self, message: impl Into<Message>) -> Result<(), LspError> {
        self.connection
            .sender
            .send(message.into())
            .map_err(|_| LspError::Disconnected)
    }

    fn notification(&mut self, n: Notification) -> Pending {
        let path_of = |uri: &Uri| convert::uri_to_path(uri);
        match n.method.as_str() {
            DidOpenTextDocument::METHOD => {
                let Ok(params) =
                    n.extract::<lsp_types::DidOpenTextDocumentParams>(DidOpenTextDocument::METHOD)
                else {
                    return Pending::default();
                };
                let Some(path) = path_of(&params.text_document.uri) else {
                    return Pending::default();
                };
                self.adopt_anchors(&path);
                self.ws.buffers.insert(
                    path.clone(),
                    Buffer {
                        text: params.text_document.text,
                        version: params.text_document.version,
                    },
                );
                // The file may have changed on disk since it was checked (a checkout the client
                // did not report): what it affects is checked again, which costs milliseconds.
                let mut pending = self.ws.affected_by(&path);
                // Opening a file shows its diagnostics even when nothing is re-checked.
                pending.docs |= pending.is_empty();
                pending
            }
            DidChangeTextDocument::METHOD => {
                let Ok(params) = n.extract::<lsp_types::DidChangeTextDocumentParams>(
                    DidChangeTextDocument::METHOD,
                ) else {
                    return Pending::default();
                };
                let Some(path) = path_of(&params.text_document.uri) else {
                    return Pending::default();
                };
                // Full sync: the last change holds the whole text.
                let Some(change) = params.content_changes.into_iter().last() else {
                    return Pending::default();
                };
                self.ws.buffers.insert(
                    path.clone(),
                    Buffer {
                        text: change.text,
                        version: params.text_document.version,
                    },
                );
                self.ws.affected_by(&path)
            }
            DidSaveTextDocument::METHOD => {
                let Ok(params) =
                    n.extract::<lsp_types::DidSaveTextDocumentParams>(DidSaveTextDocument::METHOD)
                else {
                    return Pending::default();
                };
                let Some(path) = path_of(&params.text_document.uri) else {
                    return Pending::default();
                };
                // History is the saved tree's: what was saved may change how it maps.
                self.ws.affected_by(&path)
            }
            DidCloseTextDocument::METHOD => {
                let Ok(params) = n
                    .extract::<lsp_types::DidCloseTextDocumentParams>(DidCloseTextDocument::METHOD)
                else {
                    return Pending::default();
                };
                let Some(path) = path_of(&params.text_document.uri) else {
                    return Pending::default();
                };
                let unsaved = self.unsaved_or_new(&path);
                self.ws.buffers.remove(&path);
                // The file on disk is what counts again.
                if unsaved {
                    self.ws.affected_by(&path)
                } else {
                    Pending {
                        docs: true,
                        ..Pending::default()
                    }
                }
            }
            DidChangeWatchedFiles::METHOD => {
                let Ok(params) = n.extract::<lsp_types::DidChangeWatchedFilesParams>(
                    DidChangeWatchedFiles::METHOD,
                ) else {
                    return Pending::default();
                };
                let mut pending = Pending::default();
                for change in params.changes {
                    // An open buffer wins over the file: its edits are told apart.
                    match path_of(&change.uri) {
                        Some(path) if !self.ws.buffers.contains_key(&path) => {
                            pending.merge(self.ws.affected_by(&path));
                        }
                        _ => {}
                    }
                }
                pending
            }
            _ => Pending::default(),
        }
    }

    /// An anchors.yaml opened while the workspace has none becomes the workspace's.
    fn adopt_anchors(&mut self, path: &Path) {
        if self.ws.anchors_path.is_none() && workspace::is_anchors_file(path) {
            self.ws.anchors_path = Some(path.to_path_buf());
        }
    }

    /// Whether the buffer of `path` differs from the file on disk (or there is no file).
    fn unsaved_or_new(&self, path: &Path) -> bool {
        match self.ws.buffers.get(path) {
            Some(buffer) => std::fs::read(path).ok().as_deref() != Some(buffer.text.as_bytes()),
            None => false,
        }
    }

    fn request(&mut self, request: Request) -> Result<(), LspError> {
        let Request { id, method, params } = request;
        if self.shutting_down {
            return self.reply_error(id, ErrorCode::InvalidRequest, "the server is shutting down");
        }
        let value = match method.as_str() {
            "shutdown" => {
                self.shutting_down = true;
                serde_json::Value::Null
            }
            HoverRequest::METHOD => {
                let Ok(p) = serde_json::from_value::<lsp_types::HoverParams>(params) else {
                    return self.invalid(id);
                };
                let at = p.text_document_position_params;
                let hover = convert::uri_to_path(&at.text_document.uri)
                    .and_then(|path| hover::hover(&self.ws, &path, at.position));
                to_value(hover)
            }
            GotoDefinition::METHOD => {
                let Ok(p) = serde_json::from_value::<lsp_types::GotoDefinitionParams>(params)
                else {
                    return self.invalid(id);
                };
                let at = p.text_document_position_params;
                let location = convert::uri_to_path(&at.text_document.uri)
                    .and_then(|path| locate::definition(&self.ws, &path, at.position))
                    .map(GotoDefinitionResponse::Scalar);
                to_value(location)
            }
            Completion::METHOD => {
                let Ok(p) = serde_json::from_value::<lsp_types::CompletionParams>(params) else {
                    return self.invalid(id);
                };
                let at = p.text_document_position;
                let items = convert::uri_to_path(&at.text_document.uri)
                    .map(|path| completion::completion(&self.ws, &path, at.position))
                    .unwrap_or_default();
                to_value(CompletionResponse::Array(items))
            }
            CodeLensRequest::METHOD => {
                let Ok(p) = serde_json::from_value::<lsp_types::CodeLensParams>(params) else {
                    return self.invalid(id);
                };
                let lenses = convert::uri_to_path(&p.text_document.uri)
                    .map(|path| lenses::code_lens(&self.ws, &path))
                    .unwrap_or_default();
                to_value(lenses)
            }
            InlayHintRequest::METHOD => {
                let Ok(p) = serde_json::from_value::<lsp_types::InlayHintParams>(params) else {
                    return self.invalid(id);
                };
                let hints = convert::uri_to_path(&p.text_document.uri)
                    .map(|path| lenses::inlay_hints(&self.ws, &path))
                    .unwrap_or_default();
                to_value(hints)
            }
            CodeActionRequest::METHOD => {
                let Ok(p) = serde_json::from_value::<lsp_types::CodeActionParams>(params) else {
                    return self.invalid(id);
                };
                let actions: Vec<CodeActionOrCommand> = convert::uri_to_path(&p.text_document.uri)
                    .map(|path| actions::code_actions(&self.ws, &path, p.range))
                    .unwrap_or_default()
                    .into_iter()
                    .map(CodeActionOrCommand::CodeAction)
                    .collect();
                to_value(actions)
            }
            _ => {
                return self.reply_error(
                    id,
                    ErrorCode::MethodNotFound,
                    &format!("unknown method {method}"),
                );
            }
        };
        self.send(Response::new_ok(id, value))
    }

    fn invalid(&self, id: RequestId) -> Result<(), LspError> {
        self.reply_error(id, ErrorCode::InvalidParams, "malformed parameters")
    }

    fn reply_error(&self, id: RequestId, code: ErrorCode, message: &str) -> Result<(), LspError> {
        self.send(Response::new_err(id, code as i32, message.to_string()))
    }

    /// Runs `pending` until done or a newer message arrives, publishes the diagnostics of every
    /// file that may have changed, and returns what is left.
    fn check(&mut self, pending: Pending) -> Result<Pending, LspError> {
        let connection = self.connection;
        let ws = &mut self.ws;
        let run = std::panic::catch_unwind(AssertUnwindSafe(|| {
            ws.run(pending, &|| !connection.receiver.is_empty())
        }));
        // A bug must not take the editor's diagnostics down with the server: it is said on
        // anchors.yaml, and the next edit checks again.
        let left = run.unwrap_or_else(|panic| {
            let message = format!(
                "anchorcheck failed while checking ({}); the diagnostics may be stale. Please \
                 report it.",
                panic_message(panic.as_ref())
            );
            match self.ws.loaded.as_mut() {
                Some(loaded) => loaded.run_error = Some(message),
                None => self.ws.load_error = Some(message),
            }
            Pending::default()
        });
        self.publish()?;
        Ok(left)
    }

    /// Publishes diagnostics for anchors.yaml, the pages, the open Go files, and any file that
    /// had some last time (cleared when it has none now).
    fn publish(&mut self) -> Result<(), LspError> {
        let mut targets: Vec<PathBuf> = Vec::new();
        if let Some(anchors) = &self.ws.anchors_path {
            targets.push(anchors.clone());
        }
        if let Some(loaded) = &self.ws.loaded {
            targets.extend(loaded.pages.iter().map(|page| page.full.clone()));
        }
        targets.extend(
            self.ws
                .buffers
                .keys()
                .filter(|p| p.extension().is_some_and(|e| e == "go"))
                .cloned(),
        );
        targets.extend(self.published.iter().cloned());
        targets.sort();
        targets.dedup();
        let mut published = HashSet::new();
        for path in targets {
            let diagnostics = self.diagnostics_of(&path);
            if !diagnostics.is_empty() {
                published.insert(path.clone());
            }
            let Some(uri) = convert::path_to_uri(&path) else {
                continue;
            };
            let version = self.ws.buffers.get(&path).map(|b| b.version);
            let params = PublishDiagnosticsParams {
                uri,
                diagnostics,
                version,
            };
            self.send(Notification::new(
                PublishDiagnostics::METHOD.to_string(),
                params,
            ))?;
        }
        self.published = published;
        Ok(())
    }

    fn diagnostics_of(&self, path: &Path) -> Vec<lsp_types::Diagnostic> {
        if self.ws.anchors_path.as_deref() == Some(path) {
            let text = self.ws.text_of(path).unwrap_or_default();
            return diagnostics::anchors_diagnostics(&self.ws, &text);
        }
        let Some(loaded) = &self.ws.loaded else {
            return Vec::new();
        };
        if let Some(page) = loaded.page_named(path) {
            return match &page.text {
                Ok(text) => diagnostics::page_diagnostics(loaded, &page.name, text),
                Err(_) => Vec::new(),
            };
        }
        match self.ws.repo_relative(path) {
            Some(rel) if rel.ends_with(".go") => {
                diagnostics::go_diagnostics(&self.ws, loaded, path, &rel)
            }
            _ => Vec::new(),
        }
    }
}

/// What a panic said, when it said it as text.
fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic".to_string())
}

fn to_value(value: impl serde::Serialize) -> serde_json::Value {
    serde_json::to_value(value).unwrap_or(serde_json::Value::Null)
}
