// The rulec extension: starts `rulec lsp` for .rules files (docs/editors.md).
"use strict";

const path = require("path");
const vscode = require("vscode");
const { LanguageClient } = require("vscode-languageclient/node");

let client;

function command(settings) {
  const cmd = settings.get("server.command") || "rulec";
  const folder = vscode.workspace.workspaceFolders && vscode.workspace.workspaceFolders[0];
  if (cmd.includes(path.sep) && !path.isAbsolute(cmd) && folder) {
    return path.join(folder.uri.fsPath, cmd);
  }
  return cmd;
}

async function activate(context) {
  const settings = vscode.workspace.getConfiguration("rulec");
  const config = settings.get("server.config");
  const args = config ? ["--config", config, "lsp"] : ["lsp"];
  const server = { command: command(settings), args };
  client = new LanguageClient(
    "rulec",
    "rulec",
    { run: server, debug: server },
    {
      documentSelector: [
        { scheme: "file", language: "rules" },
        { scheme: "untitled", language: "rules" },
      ],
      synchronize: {
        // rule files changed outside the editor (a git checkout) are checked again
        fileEvents: vscode.workspace.createFileSystemWatcher("**/*.rules"),
      },
      initializationOptions: {
        debounceMilliseconds: settings.get("server.debounceMilliseconds"),
      },
    }
  );
  context.subscriptions.push(
    vscode.commands.registerCommand("rulec.restartServer", () => client.restart())
  );
  await client.start();
}

function deactivate() {
  return client ? client.stop() : undefined;
}

module.exports = { activate, deactivate };
