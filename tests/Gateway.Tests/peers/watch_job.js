// A dashboard as the web UI will be one: connects to the gateway's /hubs/jobs with @microsoft/signalr, joins a job
// from a sequence number and prints one JSON line per "event" message ({type, jobId, sequence}) until the job's final one.
// Usage: node watch_job.js <gateway base url> <job id> <from sequence>
"use strict";
const signalR = require("@microsoft/signalr");

const [baseUrl, jobId, fromText] = process.argv.slice(2);
if (!baseUrl || !jobId) {
  console.error("usage: node watch_job.js <gateway base url> <job id> <from sequence>");
  process.exit(64);
}

const connection = new signalR.HubConnectionBuilder()
  .withUrl(`${baseUrl.replace(/\/$/, "")}/hubs/jobs`, { accessTokenFactory: () => process.env.TLORA_ACCESS_TOKEN || "" })
  .configureLogging(signalR.LogLevel.Warning)
  .build();

const timer = setTimeout(() => {
  console.error(`timed out waiting for job ${jobId} to end`);
  process.exit(2);
}, 180000);

// Join sends the history inside its invocation, so the terminal event can arrive before Join returns: stop only
// once the invocation has settled (stopping earlier cancels it and would look like a hub error).
let joined = Promise.resolve();

connection.on("event", async (event) => {
  const line = { type: event.type, jobId: event.jobId, sequence: event.sequence };
  if (event.type === "trainCheckpoint") {
    line.previews = (event.data.previews || []).map((p) => ({ imageUrl: p.imageUrl, thumbnail: (p.thumbnailDataUrl || "").slice(0, 22) }));
  }
  console.log(JSON.stringify(line));
  if (event.final) {
    clearTimeout(timer);
    await joined.catch(() => {});
    await connection.stop();
    process.exit(0);
  }
});

(async () => {
  try {
    await connection.start();
    joined = connection.invoke("Join", jobId, Number(fromText || "1"));
    await joined;
    console.log(JSON.stringify({ type: "joined", jobId }));
  } catch (e) {
    console.error(`hub error: ${e}`);
    process.exit(1);
  }
})();
