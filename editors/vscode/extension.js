// Starts `anchorcheck lsp` for anchors.yaml, Markdown pages and Go files. Everything the
// server does is in the server; this file only tells VS Code how to start it.
const vscode = require("vscode");
const { LanguageClient } = require("vscode-languageclient/node");

let client;

function activate(context) {
  const command = vscode.workspace.getConfiguration("anchorcheck").get("path") || "anchorcheck";
  const server = { command, args: ["lsp"] };
  client = new LanguageClient(
    "anchorcheck",
    "anchorcheck",
    { run: server, debug: server },
    {
      documentSelector: [
        { scheme: "file", pattern: "**/anchors.yaml" },
        { scheme: "file", language: "markdown" },
        { scheme: "file", language: "go" },
      ],
    }
  );
  context.subscriptions.push(client);
  return client.start();
}

function deactivate() {
  return client ? client.stop() : undefined;
}

module.exports = { activate, deactivate };
