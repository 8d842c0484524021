// Cold start: search, rate, and show fold-in recommendations. All data goes into the DOM with
// textContent (never innerHTML), so catalogue text cannot inject markup.
(function () {
  "use strict";
  const root = document.getElementById("coldstart");
  const min = Number(root.dataset.scaleMin), max = Number(root.dataset.scaleMax);
  // A signed-in reader (accounts mode) rates as themself; otherwise a guest ID kept in this
  // browser.
  let guest = root.dataset.reader || localStorage.getItem("bookrec-guest");
  if (!root.dataset.reader && (!guest || !/^guest-[0-9a-f]{12}$/.test(guest))) {
    const bytes = new Uint8Array(6);
    crypto.getRandomValues(bytes);
    guest = "guest-" + Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
    localStorage.setItem("bookrec-guest", guest);
  }
  document.getElementById("guest-id").textContent = guest;
  document.getElementById("my-page").href = "/?user=" + encodeURIComponent(guest);

  function el(tag, cls, text) {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  }
  function bookItem(book, extra) {
    const li = el("li", "book");
    const cover = el("div", "cover");
    cover.appendChild(el("span", "ph", (book.title || "?").slice(0, 1).toUpperCase()));
    if (book.image_url && /^https?:/i.test(book.image_url)) {
      const img = el("img");
      img.loading = "lazy"; img.alt = ""; img.referrerPolicy = "no-referrer";
      img.onerror = () => img.remove();
      img.onload = () => { if (img.naturalWidth < 2) img.remove(); };
      img.src = book.image_url;
      cover.appendChild(img);
    }
    li.appendChild(cover);
    const meta = el("div", "meta");
    const a = el("a", "title", book.title);
    a.href = "/books/" + encodeURIComponent(book.id);
    meta.appendChild(a);
    meta.appendChild(el("div", "author", book.author + (book.year ? " · " + book.year : "")));
    if (extra) meta.appendChild(extra);
    li.appendChild(meta);
    return li;
  }
  function stars(book) {
    const box = el("div", "stars");
    for (let v = Math.ceil(min); v <= Math.floor(max); v++) {
      const b = el("button", "small", String(v));
      b.type = "button";
      b.title = "rate " + v;
      b.onclick = () => rate(book, v, box);
      box.appendChild(b);
    }
    return box;
  }
  async function api(path, options) {
    const res = await fetch(path, options);
    const body = await res.json().catch(() => ({ error: "unexpected answer from the server" }));
    if (!res.ok) throw new Error(body.error || ("HTTP " + res.status));
    return body;
  }
  async function rate(book, value, box) {
    box.querySelectorAll("button").forEach((b) => b.classList.toggle("on", b.textContent === String(value)));
    try {
      await api("/api/users/" + encodeURIComponent(guest) + "/ratings", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ book_id: book.id, rating: value }),
      });
      await refresh();
    } catch (e) {
      document.getElementById("recs-status").textContent = "Could not save the rating: " + e.message;
    }
  }
  async function refresh() {
    const status = document.getElementById("recs-status");
    try {
      const mine = await api("/api/users/" + encodeURIComponent(guest) + "/ratings");
      const list = document.getElementById("my-ratings");
      list.replaceChildren(...mine.ratings.map((r) => bookItem(r.book, el("div", "score", "rated " + r.rating))));
    } catch (e) {
      return; // 404 until the first rating is stored
    }
    status.textContent = "Updating…";
    try {
      const recs = await api("/api/users/" + encodeURIComponent(guest) + "/recommendations?n=10");
      const list = document.getElementById("my-recs");
      list.replaceChildren(...recs.items.map((r) => {
        const extra = el("div");
        const label = recs.score_kind === "predicted_rating"
          ? "★ " + r.score.toFixed(1) + " predicted"
          : recs.score_kind === "interactions"
            ? Math.round(r.score) + " readers"
            : "match " + r.score.toFixed(2);
        extra.appendChild(el("div", "score", label));
        if (recs.score_kind !== "predicted_rating" && r.predicted_rating !== null) {
          extra.appendChild(el("div", "score", "★ " + r.predicted_rating.toFixed(1) + " predicted"));
        }
        if (r.because.length) {
          extra.appendChild(el("div", "why", "because you rated " + r.because.map((b) => b.title).join(" and ") + " highly"));
        }
        return bookItem(r.book, extra);
      }));
      const by = recs.rating_model && recs.rating_model !== recs.ranker
        ? " Ranked by " + recs.ranker + "; predicted ratings by " + recs.rating_model + "."
        : "";
      status.textContent = (recs.message || "Top " + recs.items.length + " from your " + recs.n_ratings_used + " ratings.") + by;
    } catch (e) {
      status.textContent = "Could not load recommendations: " + e.message;
    }
  }
  document.getElementById("search-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const q = document.getElementById("q").value.trim();
    const status = document.getElementById("search-status");
    const list = document.getElementById("search-results");
    if (!q) { status.textContent = "Type part of a title or an author's name."; return; }
    try {
      const res = await api("/api/books?n=15&q=" + encodeURIComponent(q));
      status.textContent = res.items.length ? "" : "No book matches “" + q + "”.";
      list.replaceChildren(...res.items.map((b) => bookItem(b, stars(b))));
    } catch (e) {
      status.textContent = e.message;
    }
  });
  document.querySelectorAll("#popular li[data-book-id]").forEach((li) => {
    const book = { id: li.dataset.bookId, title: li.dataset.title, author: li.dataset.author };
    li.replaceWith(bookItem(book, stars(book)));
  });
  refresh();
})();
