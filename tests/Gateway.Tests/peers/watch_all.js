// A dashboard's all-jobs view: connects to the gateway's /hubs/jobs with @microsoft/signalr, calls JoinAll and prints
// {"event":"joined"}; then prints one JSON line per "activity" message ({jobId, type, sequence}, any job). It reads a job
// id from stdin; once that job's final event has arrived it calls LeaveAll, prints {"event":"left"} and exits.
// Usage: node watch_all.js <gateway base url>   (then write a job id and a newline to stdin)
"use strict";
const signalR = require("@microsoft/signalr");

const [baseUrl] = process.argv.slice(2);
if (!baseUrl) {
  console.error("usage: node watch_all.js <gateway base url>");
  process.exit(64);
}

const connection = new signalR.HubConnectionBuilder()
  .withUrl(`${baseUrl.replace(/\/$/, "")}/hubs/jobs`, { accessTokenFactory: () => process.env.TLORA_ACCESS_TOKEN || "" })
  .configureLogging(signalR.LogLevel.Warning)
  .build();

const timer = setTimeout(() => {
  console.error("timed out waiting for the job to end");
  process.exit(2);
}, 180000);

function fail(e) {
  console.error(`hub error: ${e}`);
  process.exit(1);
}

let target = null;
let finishing = false;
const ended = new Set();

async function finishIfDone() {
  if (finishing || target === null || !ended.has(target)) return;
  finishing = true;
  clearTimeout(timer);
  await connection.invoke("LeaveAll");
  console.log(JSON.stringify({ event: "left" }));
  await connection.stop();
  process.exit(0);
}

connection.on("activity", (m) => {
  console.log(JSON.stringify({ jobId: m.jobId, type: m.type, sequence: m.sequence }));
  if (m.final) ended.add(m.jobId);
  finishIfDone().catch(fail);
});

let input = "";
process.stdin.setEncoding("utf8");
process.stdin.on("data", (chunk) => {
  input += chunk;
  const newline = input.indexOf("\n");
  if (target === null && newline >= 0) {
    target = input.slice(0, newline).trim();
    finishIfDone().catch(fail);
  }
});

(async () => {
  try {
    await connection.start();
    await connection.invoke("JoinAll");
    console.log(JSON.stringify({ event: "joined" }));
  } catch (e) {
    fail(e);
  }
})();
