// A small interactive renderer of /openapi.json: one panel per operation with its parameters,
// request body and responses, and a "Send" button that calls the live server. No external
// assets, everything via textContent.
(function () {
  "use strict";
  function el(tag, cls, text) {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  }
  function resolve(spec, schema) {
    if (schema && schema.$ref) {
      const name = schema.$ref.split("/").pop();
      return spec.components.schemas[name] || {};
    }
    return schema || {};
  }
  function example(spec, schema, depth) {
    schema = resolve(spec, schema);
    if (depth > 3) return null;
    if (schema.example !== undefined) return schema.example;
    const type = Array.isArray(schema.type) ? schema.type[0] : schema.type;
    if (type === "object" || schema.properties) {
      const out = {};
      for (const [k, v] of Object.entries(schema.properties || {})) out[k] = example(spec, v, depth + 1);
      return out;
    }
    if (type === "array") return [example(spec, schema.items, depth + 1)];
    if (type === "number" || type === "integer") return 8;
    if (type === "string") return "string";
    if (type === "boolean") return true;
    return null;
  }
  function operation(spec, path, method, op) {
    const box = el("details", "op");
    const sum = el("summary");
    sum.appendChild(el("span", "method " + method.toUpperCase(), method.toUpperCase()));
    sum.appendChild(document.createTextNode(" " + path + " — " + (op.summary || "")));
    box.appendChild(sum);
    if (op.description) box.appendChild(el("p", "hint", op.description));
    const inputs = {};
    for (const p of op.parameters || []) {
      const label = el("label", null, p.name + " (" + p.in + (p.required ? ", required" : "") + ") ");
      const input = el("input");
      input.placeholder = p.description || "";
      if (p.example !== undefined) input.value = p.example;
      label.appendChild(input);
      box.appendChild(label);
      inputs[p.name] = { input: input, where: p.in };
    }
    let body = null;
    if (op.requestBody) {
      const content = op.requestBody.content["application/json"] || {};
      body = el("textarea");
      body.value = JSON.stringify(example(spec, content.schema, 0), null, 2);
      box.appendChild(el("label", null, "JSON body"));
      box.appendChild(body);
    }
    const codes = Object.entries(op.responses || {}).map(([c, r]) => c + " " + (r.description || ""));
    box.appendChild(el("p", "hint", "Responses: " + codes.join(" · ")));
    const send = el("button", "small", "Send");
    const out = el("pre");
    send.onclick = async () => {
      let url = path;
      const query = new URLSearchParams();
      for (const [name, { input, where }] of Object.entries(inputs)) {
        if (where === "path") url = url.replace("{" + name + "}", encodeURIComponent(input.value));
        else if (where === "query" && input.value !== "") query.set(name, input.value);
      }
      if ([...query].length) url += "?" + query;
      const init = { method: method.toUpperCase(), headers: {} };
      if (body) { init.headers["Content-Type"] = "application/json"; init.body = body.value; }
      out.textContent = init.method + " " + url + "\n…";
      try {
        const res = await fetch(url, init);
        const text = await res.text();
        let shown = text;
        try { shown = JSON.stringify(JSON.parse(text), null, 2); } catch (e) { /* not JSON */ }
        out.textContent = init.method + " " + url + "\n" + res.status + " " + res.statusText + "\n\n" + shown;
      } catch (e) {
        out.textContent = "request failed: " + e.message;
      }
    };
    box.appendChild(send);
    box.appendChild(out);
    return box;
  }
  fetch("/openapi.json").then((r) => r.json()).then((spec) => {
    document.getElementById("api-title").textContent = spec.info.title + " " + spec.info.version;
    document.getElementById("api-desc").textContent = spec.info.description || "";
    const ops = document.getElementById("ops");
    for (const [path, item] of Object.entries(spec.paths)) {
      for (const method of ["get", "post", "put", "delete"]) {
        if (item[method]) ops.appendChild(operation(spec, path, method, item[method]));
      }
    }
  }).catch((e) => {
    document.getElementById("api-desc").textContent = "Could not load /openapi.json: " + e.message;
  });
})();
