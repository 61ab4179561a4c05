// The one ES module among the app's scripts: it hands partysocket's ReconnectingWebSocket
// (static/vendor/partysocket/, published as an ES module only) to the classic scripts as
// window.ReconnectingWebSocket, for api.js's socket client. A page with a socket loads it
// before api.js: module scripts and deferred scripts run in the order they appear.
import ReconnectingWebSocket from "../vendor/partysocket/ws.js";

window.ReconnectingWebSocket = ReconnectingWebSocket;
