// The app's JSON API from the browser: fetch() answered as {status, data}, with status 0
// when the network failed and data null when the body is not JSON. Shared by the
// library and the chat screen. Plain JS, no build step.
(function () {
  "use strict";

  function parse(text) {
    try {
      return JSON.parse(text);
    } catch (e) {
      return null;
    }
  }

  /** The page's CSRF token (from any {% csrf_token %} field on it). */
  function csrfToken() {
    var field = document.querySelector("[name=csrfmiddlewaretoken]");
    return field ? field.value : "";
  }

  function request(method, url, body) {
    var headers = { Accept: "application/json" };
    if (method !== "GET") headers["X-CSRFToken"] = csrfToken();
    if (body !== undefined) headers["Content-Type"] = "application/json";
    return fetch(url, {
      method: method,
      headers: headers,
      credentials: "same-origin",
      body: body === undefined ? undefined : JSON.stringify(body),
    }).then(
      function (response) {
        return response.text().then(function (text) {
          return { status: response.status, data: parse(text) };
        });
      },
      function () {
        return { status: 0, data: null };
      }
    );
  }

  window.LineLeadApi = { parse: parse, request: request, csrfToken: csrfToken };
})();
