// Demo app: proves the route web server → app server (Node.js).
const http = require("http");
const port = Number(process.env.PORT ?? "8002");
http.createServer((req, res) => {
    const body = JSON.stringify({ app: "hello-node", node: process.version, path: req.url });
    res.writeHead(200, { "Content-Type": "application/json" });
    res.end(body);
}).listen(port, "0.0.0.0");
