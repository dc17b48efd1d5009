// In-page half of book_toolchain.sitecheck: installed as an init script, so every page of
// the site gets window.__sitecheck before its own scripts run. Each function returns plain
// JSON for the Python side, which decides what is a failure; the definitions of the
// geometric checks are in the docstring of sitecheck.py.
window.__sitecheck = (() => {
  const sleep = ms => new Promise(r => setTimeout(r, ms));
  const frames = () => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)));
  const clip = (s, n = 80) => (s || '').replace(/\s+/g, ' ').trim().slice(0, n);
  const visible = el => !el.checkVisibility || el.checkVisibility({visibilityProperty: true});
  // Text a reader does not see as prose: code, MathJax output, scripts.
  const NOT_PROSE = 'pre, code, kbd, samp, tt, script, style, textarea, noscript, template, ' +
    'mjx-container, mjx-assistive-mml, .highlight, .linenos, .cell_input';
  const NOT_TEXT = 'script, style, noscript, template, mjx-assistive-mml';
  const BLOCK = 'p, li, dt, dd, td, th, h1, h2, h3, h4, h5, h6, figcaption, caption, ' +
    'blockquote, pre, div, section, body';
  const article = () => document.querySelector('article.bd-article, article, main, [role=main]')
    || document.body;

  // Visible text, grouped by block: [[block element, text], ...].
  function textBlocks(skip) {
    const blocks = new Map();
    const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      const el = node.parentElement;
      if (!el || !node.data.trim() || el.closest(skip) || !visible(el)) continue;
      const block = el.closest(BLOCK) || document.body;
      blocks.set(block, (blocks.get(block) || '') + node.data);
    }
    return Array.from(blocks);
  }

  // Client box (inside borders, without scrollbar) of an element, in viewport coordinates.
  function clientBox(el) {
    const r = el.getBoundingClientRect();
    const left = r.left + el.clientLeft;
    return {left, right: left + el.clientWidth};
  }

  // The displays: Sphinx's div.math, or a MathJax display container outside one.
  function displays() {
    const outer = Array.from(document.querySelectorAll('div.math'))
      .filter(d => !d.parentElement.closest('div.math'));
    for (const c of document.querySelectorAll('mjx-container[display="true"]'))
      if (!c.closest('div.math')) outer.push(c);
    return outer.filter(visible);
  }

  // How one display sits in the page; see "Display equations" in sitecheck.py.
  function displayFit(d, phone) {
    const box = d.querySelector('mjx-math') || d;
    const r = box.getBoundingClientRect();
    const top = article();
    const name = e => `<${e.tagName.toLowerCase()}` +
      `${typeof e.className === 'string' && e.className ? '.' + e.className.split(/\s+/)[0] : ''}>`;
    let edge = {left: r.left, right: r.right};
    let problem = null;
    for (let e = box === d ? d : box.parentElement; e && !problem; e = e.parentElement) {
      const c = clientBox(e);
      const over = edge.left < c.left - 1 || edge.right > c.right + 1;
      const ox = getComputedStyle(e).overflowX;
      if (phone && /auto|scroll/.test(ox)) {
        // The display scrolls inside e; from here on e's own border box has to fit.
        const b = e.getBoundingClientRect();
        edge = {left: b.left, right: b.right};
      } else if (over && (!phone || /hidden|clip/.test(ox) || e === top)) {
        problem = `${Math.round(edge.right - edge.left)} px wide in a ` +
          `${Math.round(c.right - c.left)} px ${name(e)}` +
          (phone && e !== top ? ' that clips it' : '');
      }
      if (e === top || e === document.body) break;
    }
    if (!problem && (edge.left < -1 || edge.right > innerWidth + 1))
      problem = `reaches x = ${Math.round(edge.left)}..${Math.round(edge.right)} ` +
        `of a ${innerWidth} px viewport`;
    if (!problem && !phone && d.scrollWidth > d.clientWidth + 1)
      problem = `scrolls: scrollWidth ${d.scrollWidth} > clientWidth ${d.clientWidth}`;
    if (!problem) return null;
    let tex = d.textContent;
    try { tex = MathJax.startup.document.getMathItemsWithin(d)[0].math; } catch (e) { /* raw */ }
    return {tex: clip(tex, 70), id: d.id || '', problem};
  }

  async function ready() {
    if (document.querySelector('script[src*="mathjax" i]') || window.MathJax) {
      for (let i = 0; i < 200 && !(window.MathJax && MathJax.startup && MathJax.startup.promise); i++)
        await sleep(25);
      try { await MathJax.startup.promise; } catch (e) { /* reported as untypeset math */ }
    }
    const imgs = Array.from(document.images);
    for (const img of imgs) if (img.loading === 'lazy') img.loading = 'eager';
    await Promise.all(imgs.map(img => img.complete ? null : new Promise(r => {
      img.addEventListener('load', r); img.addEventListener('error', r); setTimeout(r, 5000);
    })));
    if (document.fonts && document.fonts.ready) await document.fonts.ready;
    await frames();
    return true;
  }

  // Everything checked at the wide viewport. Closed <details> are opened first so that
  // what a reader sees after one click is checked too.
  async function collect() {
    for (const d of document.querySelectorAll('details:not([open])')) d.open = true;
    await frames();
    const out = {title: document.title || ''};
    const h1 = document.querySelector('main h1, article h1, h1');
    out.h1 = h1 ? h1.textContent.replace(/[#¶]\s*$/, '').trim() : '';

    out.mjx = document.querySelectorAll('mjx-container').length;
    const mathEls = Array.from(document.querySelectorAll('.math'))
      .filter(e => !e.parentElement || !e.parentElement.closest('.math'));
    out.math_total = mathEls.length;
    out.math_untypeset = mathEls.filter(e => !e.querySelector('mjx-container'))
      .map(e => clip(e.textContent));
    out.math_errors = Array.from(document.querySelectorAll('mjx-merror, [data-mjx-error]'))
      .map(e => clip(e.getAttribute('data-mjx-error') || e.textContent, 120));

    out.prose = textBlocks(NOT_PROSE).map(([, t]) => t);
    out.text = textBlocks(NOT_TEXT).map(([, t]) => t);
    const outputs = Array.from(document.querySelectorAll('.cell_output, .output'))
      .filter(o => !o.parentElement.closest('.cell_output, .output') && visible(o));
    out.outputs = outputs.map(o => o.innerText);
    out.stderr = Array.from(document.querySelectorAll('.output.stderr, .stderr'))
      .filter(e => !e.parentElement.closest('.stderr')).map(e => clip(e.textContent));

    out.images = Array.from(document.images).map(img => ({
      src: img.currentSrc || img.src || img.getAttribute('src') || '',
      ok: img.complete && img.naturalWidth > 0, alt: img.getAttribute('alt')}));
    const figs = new Set(document.querySelectorAll(
      'figure img, .figure img, .cell_output img, .output img'));
    out.figures = Array.from(figs).filter(i => i.naturalWidth > 0 && visible(i)).map(img => ({
      src: img.currentSrc || img.src, natural: img.naturalWidth,
      shown: img.getBoundingClientRect().width}));

    out.links = Array.from(document.querySelectorAll('a[href], area[href]'))
      .map(a => ({href: a.href, raw: a.getAttribute('href'), text: clip(a.textContent, 60)}));
    out.ids = Array.from(document.querySelectorAll('[id]')).map(e => e.id)
      .concat(Array.from(document.querySelectorAll('a[name]')).map(a => a.getAttribute('name')));
    out.xrefs = document.querySelectorAll('.xref').length;
    out.unresolved_xrefs = Array.from(document.querySelectorAll('.xref'))
      .filter(e => !e.closest('a')).map(e => clip(e.textContent));

    // Statically referenced resources (a remote one may be fetched later, lazily).
    const res = [];
    const loads = /(^|\s)(stylesheet|preload|modulepreload|prefetch|preconnect|dns-prefetch|icon|manifest)(\s|$)/i;
    for (const e of document.querySelectorAll('script[src]')) res.push(e.src);
    for (const e of document.querySelectorAll('link[href]'))
      if (loads.test(e.getAttribute('rel') || '')) res.push(e.href);
    for (const e of document.querySelectorAll('img[src], iframe[src], source[src], video[src], audio[src], embed[src], track[src]'))
      res.push(e.src);
    for (const e of document.querySelectorAll('object[data]')) res.push(e.data);
    out.resources = res;

    out.boxes = Array.from(document.querySelectorAll('div.proof')).map(d => {
      const t = d.querySelector(':scope > .admonition-title');
      return {classes: Array.from(d.classList), id: d.id,
              title: t ? t.textContent.trim() : '', unnumbered: !!(t && t.id)};
    });
    out.tables = Array.from(document.querySelectorAll('table')).map(t => {
      const headRow = t.querySelector('thead tr') || t.querySelector('tr');
      const headers = headRow ? Array.from(headRow.children).map(c => c.textContent.trim()) : [];
      let rows = Array.from(t.querySelectorAll('tbody tr'));
      if (!t.querySelector('thead')) rows = rows.filter(r => r !== headRow);
      return {headers, rows: rows.map(r => ({
        cells: Array.from(r.children).map(c => c.textContent.trim()),
        anchors: Array.from(r.querySelectorAll('a[href]')).map(a => a.href)}))};
    });
    return Object.assign(out, geometry(false));
  }

  // Page width and displays at the current viewport (wide, or phone).
  function geometry(phone) {
    const ds = displays();
    return {
      viewport: innerWidth,
      page_width: document.scrollingElement.scrollWidth,
      displays: ds.length,
      display_problems: ds.map(d => displayFit(d, phone)).filter(Boolean),
      figures_small: phone ? Array.from(document.querySelectorAll(
        'figure img, .figure img, .cell_output img, .output img'))
        .filter(i => i.naturalWidth > 0 && visible(i))
        .map(i => ({src: i.currentSrc || i.src, natural: i.naturalWidth,
                    shown: i.getBoundingClientRect().width})) : [],
      height: document.scrollingElement.scrollHeight,
    };
  }

  async function atViewport() {
    await frames();
    window.scrollTo(0, 0);
    return geometry(true);
  }

  async function search() {
    for (let i = 0; i < 200; i++) {
      const items = document.querySelectorAll('#search-results ul.search li, ul.search li');
      if (items.length) return {count: items.length, first: clip(items[0].textContent)};
      const summary = document.querySelector('#search-results .search-summary, #search-results p');
      if (summary && /did not match|no results|not match any/i.test(summary.textContent))
        return {count: 0, first: clip(summary.textContent, 120)};
      await sleep(50);
    }
    return {count: 0, first: 'no search results after 10 s'};
  }

  return {ready, collect, atViewport, search};
})();
