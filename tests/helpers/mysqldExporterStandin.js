// A stand-in for mysqld_exporter v0.20.0 where its binary cannot be had (no registry here serves it), used by
// tests/servers/mariadb/exporter-reload.spec.ts. It keeps the one contract that spec depends on, read from
// v0.20.0's source: the option file (--config.my-cnf) is read at start and on a request to /-/reload only,
// and every scrape logs in with that copy; /metrics reports mysql_up 1 when the login works, else 0.
// It proves our sidecar's reload loop, not the exporter's own reload; the real binary does both.
"use strict";
const fs = require("fs");
const http = require("http");
const os = require("os");
const path = require("path");
const { execFile } = require("child_process");

const arg = (name) => (process.argv.find((a) => a.startsWith(`--${name}=`)) || "").slice(name.length + 3);
const file = arg("config.my-cnf");
const port = Number(arg("web.listen-address").replace(/^.*:/, ""));
const client = process.env.MYSQLD_EXPORTER_STANDIN_CLIENT || "mariadb";
if (!file || !port) {
    console.error("usage: --config.my-cnf=FILE --web.listen-address=:PORT");
    process.exit(2);
}

let loaded = fs.readFileSync(file, "utf8");
// The loaded copy, where the client reads it: the live file may already hold another password.
const copy = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "exporter-standin-")), "my.cnf");
const keep = () => fs.writeFileSync(copy, loaded, { mode: 0o600 });
keep();

const up = () =>
    new Promise((resolve) => execFile(client, [`--defaults-file=${copy}`, "-N", "-e", "SELECT 1"], { timeout: 5000 }, (err) => resolve(err ? 0 : 1)));

http.createServer(async (req, res) => {
    if (req.url === "/-/reload") {
        loaded = fs.readFileSync(file, "utf8");
        keep();
        res.end("reloaded\n");
    } else if (req.url === "/metrics") {
        res.end(`# TYPE mysql_up gauge\nmysql_up ${await up()}\n`);
    } else {
        res.statusCode = 404;
        res.end();
    }
}).listen(port, "0.0.0.0");
for (const s of ["SIGTERM", "SIGINT"]) process.on(s, () => process.exit(0));
