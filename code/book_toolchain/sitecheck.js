// In-page half of book_toolchain.sitecheck, installed as an init script: every page gets
// window.__sitecheck before its own scripts run. The checks are defined in the docstring of
// sitecheck.py; each returns [number of elements checked, [failure messages]].
window.__sitecheck = (() => {
  const sleep = ms => new Promise(r => setTimeout(r, ms));
  const frames = () => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)));
  const clip = (s, n = 80) => (s || '').replace(/\s+/g, ' ').trim().slice(0, n);
  const all = (sel, root = document) => Array.from(root.querySelectorAll(sel));
  const visible = el => !el.checkVisibility || el.checkVisibility({visibilityProperty: true});
  const name = e => `<${e.tagName.toLowerCase()}` +
    (typeof e.className === 'string' && e.className ? '.' + e.className.split(/\s+/)[0] : '') + '>';
  const article = () => document.querySelector('article.bd-article, article, main, [role=main]')
    || document.body;
  const THEOREMS = ['theorem', 'lemma', 'proposition', 'corollary', 'definition', 'conjecture',
    'remark', 'example', 'axiom', 'criterion', 'algorithm', 'property', 'observation',
    'assumption', 'notation'];
  // Text a reader does not take for prose: code, MathJax output, scripts.
  const NOT_PROSE = 'pre, code, kbd, samp, tt, script, style, textarea, noscript, template, ' +
    'mjx-container, mjx-assistive-mml, .highlight, .linenos, .cell_input';
  const NOT_TEXT = 'script, style, noscript, template, mjx-assistive-mml';
  const BLOCK = 'p, li, dt, dd, td, th, h1, h2, h3, h4, h5, h6, figcaption, caption, ' +
    'blockquote, pre, div, section, body';
  // A $...$ or $$...$$ pair, \( \) \[ \], a control word, or a `$` glued to TeX.
  const RAW_TEX = /\$\$[\s\S]+?\$\$|\$[^$\s](?:[^$\n]*?[^$\s\\])?\$|\\[()[\]]|\\[A-Za-z]+|\$\\|[}^_]\$/g;
  const MACHINE_PATH = /(?<![\w.~/-])(?:\/root|\/home|\/work|\/tmp|\/Users)\/\S*|\S*(?:\.venv\/|site-packages)\S*/g;
  // Markdown table source: a delimiter row (|---| or, after smartquotes, |—|), or two
  // consecutive lines that start and end with | around at least two cells.
  const PIPE_DELIMITER = /\|\s*:?(?:-{3,}|[—–]+):?\s*\|/;
  const PIPE_ROW = /^\s*\|(?:[^|\n]*\|){2,}\s*$/;
  const FIGURES = 'figure img, .figure img, .cell_output img, .output img';
  const FONT_PT = 10, MIN_FONT_PX = 9, DEFAULT_DPI = 100;
  const dpiOf = new Map();  // image URL -> dpi from its PNG pHYs chunk (null: none)
  let scrolling = [0, 0];  // displays, those scrolling in their own container (last geometry)

  // Visible text grouped by block element: [text, ...].
  function textBlocks(skip) {
    const blocks = new Map();
    const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      const el = node.parentElement;
      if (!el || !node.data.trim() || el.closest(skip) || !visible(el)) continue;
      const block = el.closest(BLOCK) || document.body;
      blocks.set(block, (blocks.get(block) || '') + node.data);
    }
    return Array.from(blocks.values());
  }

  function textCheck(blocks, re, what) {
    const bad = [];
    for (const t of blocks) {
      const m = t.match(re);
      if (m) bad.push(`${what}: ${m.slice(0, 3).map(s => s.slice(0, 60)).join(' | ')}  in: ${clip(t, 100)}`);
    }
    return [blocks.length, bad];
  }

  async function pngDpi(url) {
    if (!dpiOf.has(url)) {
      let dpi = null;
      try {
        const v = new DataView(await (await fetch(url)).arrayBuffer());
        for (let p = 8; p + 8 <= v.byteLength && v.getUint32(0) === 0x89504e47;) {
          const len = v.getUint32(p), type = String.fromCharCode(
            v.getUint8(p + 4), v.getUint8(p + 5), v.getUint8(p + 6), v.getUint8(p + 7));
          if (type === 'pHYs' && v.getUint8(p + 16) === 1) dpi = v.getUint32(p + 8) * 0.0254;
          if (type === 'pHYs' || type === 'IDAT') break;  // pHYs precedes the image data
          p += 12 + len;
        }
      } catch (e) { /* not readable: the default dpi */ }
      dpiOf.set(url, dpi);
    }
    return dpiOf.get(url) || DEFAULT_DPI;
  }

  // [figures, those whose default font shows below MIN_FONT_PX]; see "figure_zoom".
  async function figures() {
    const bad = [];
    const imgs = Array.from(new Set(all(FIGURES))).filter(i => i.naturalWidth > 0 && visible(i));
    for (const img of imgs) {
      const src = img.currentSrc || img.src, dpi = await pngDpi(src);
      const shown = img.getBoundingClientRect().width, scale = shown / img.naturalWidth;
      const px = FONT_PT * dpi / 72 * scale;
      if (px < MIN_FONT_PX) bad.push(`figure font ${px.toFixed(1)} px < ${MIN_FONT_PX} px: ` +
        `${img.naturalWidth} px wide at ${Math.round(dpi)} dpi shown at ${Math.round(shown)} px ` +
        `(${Math.round(100 * scale)}%): ${clip(img.getAttribute('src'), 80)}`);
    }
    return [imgs.length, bad];
  }

  // Client box (inside the borders, without a scrollbar), in viewport coordinates.
  function clientBox(el) {
    const left = el.getBoundingClientRect().left + el.clientLeft;
    return {left, right: left + el.clientWidth};
  }

  // Why a display does not sit in the page (null when it does); see "display_1440/390".
  // scrolled.n counts the displays that overflow into a scroll container of their own.
  function displayProblem(d, phone, scrolled) {
    const box = d.querySelector('mjx-math') || d;
    const top = article();
    const r = box.getBoundingClientRect();
    let edge = {left: r.left, right: r.right};
    for (let e = box === d ? d : box.parentElement; e; e = e.parentElement) {
      const c = clientBox(e);
      const over = edge.left < c.left - 1 || edge.right > c.right + 1;
      const ox = getComputedStyle(e).overflowX;
      if (phone && /auto|scroll/.test(ox)) {
        if (over && edge.right - edge.left > c.right - c.left + 1) scrolled.n++;
        const b = e.getBoundingClientRect();  // it scrolls inside e: e has to fit from here on
        edge = {left: b.left, right: b.right};
      } else if (over && (!phone || /hidden|clip/.test(ox) || e === top)) {
        return `${Math.round(edge.right - edge.left)} px wide in a ${Math.round(c.right - c.left)}` +
          ` px ${name(e)}${phone && e !== top ? ' that clips it' : ''}`;
      }
      if (e === top || e === document.body) break;
    }
    if (edge.left < -1 || edge.right > innerWidth + 1)
      return `reaches x = ${Math.round(edge.left)}..${Math.round(edge.right)} of ${innerWidth} px`;
    if (!phone && d.scrollWidth > d.clientWidth + 1)
      return `scrolls: scrollWidth ${d.scrollWidth} > clientWidth ${d.clientWidth}`;
    return null;
  }

  // display_1440 or display_390, and page_scroll, at the current viewport.
  function geometry(phone) {
    const ds = all('div.math').filter(d => !d.parentElement.closest('div.math'))
      .concat(all('mjx-container[display="true"]').filter(c => !c.closest('div.math')))
      .filter(visible);
    const bad = [], scrolled = {n: 0};
    for (const d of ds) {
      const problem = displayProblem(d, phone, scrolled);
      if (!problem) continue;
      let tex = d.textContent;
      try { tex = MathJax.startup.document.getMathItemsWithin(d)[0].math; } catch (e) { /* raw */ }
      bad.push(`display equation ${JSON.stringify(clip(tex, 70))}${d.id ? ' #' + d.id : ''} ` +
               `at ${innerWidth} px: ${problem}`);
    }
    const width = document.scrollingElement.scrollWidth;
    scrolling = [ds.length, scrolled.n];
    return {
      [phone ? 'display_390' : 'display_1440']: [ds.length, bad],
      page_scroll: [1, width > innerWidth + 1
        ? [`page scrolls sideways at ${innerWidth} px (scrollWidth ${width})`] : []],
    };
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
    window.scrollTo(0, 0);
    return document.scrollingElement.scrollHeight;
  }

  // What the Python side needs of a page at the wide viewport, and the in-page checks.
  // Closed <details> are opened first: a reader sees their content after one click.
  async function collect() {
    for (const d of all('details:not([open])')) d.open = true;
    await frames();
    const h1 = document.querySelector('main h1, article h1, h1');
    const out = {title: document.title || '', h1: h1 ? clip(h1.textContent.replace(/[#¶]\s*$/, ''), 200) : ''};
    out.links = all('a[href], area[href]')
      .map(a => ({href: a.href, raw: a.getAttribute('href'), text: clip(a.textContent, 60)}));
    // Statically referenced resources (a remote one may be fetched later, lazily).
    const loads = /(^|\s)(stylesheet|preload|modulepreload|prefetch|preconnect|dns-prefetch|icon|manifest)(\s|$)/i;
    out.resources = all('script[src]').map(e => e.src)
      .concat(all('link[href]').filter(e => loads.test(e.getAttribute('rel') || '')).map(e => e.href))
      .concat(all('img[src], iframe[src], source[src], video[src], audio[src], embed[src]').map(e => e.src))
      .concat(all('object[data]').map(e => e.data));
    out.tables = all('table').map(t => {
      const head = t.querySelector('thead tr') || t.querySelector('tr');
      const rows = all('tbody tr', t).filter(r => t.querySelector('thead') || r !== head);
      return {headers: head ? Array.from(head.children).map(c => c.textContent.trim()) : [],
              rows: rows.map(r => ({cells: Array.from(r.children).map(c => c.textContent.trim()),
                                    anchors: all('a[href]', r).map(a => a.href)}))};
    });
    out.warnings = all('img').filter(i => !i.getAttribute('alt'))
      .map(i => `image without alt text: ${i.getAttribute('src')}`);

    const checks = out.checks = {};
    const maths = all('.math').filter(e => !e.parentElement || !e.parentElement.closest('.math'));
    const untypeset = maths.filter(e => !e.querySelector('mjx-container'));
    checks.math = [maths.length, all('mjx-merror, [data-mjx-error]')
      .map(e => `MathJax error: ${clip(e.getAttribute('data-mjx-error') || e.textContent, 120)}`)
      .concat(untypeset.length ? [`${untypeset.length} of ${maths.length} math element(s) not ` +
        `typeset by MathJax, e.g. ${JSON.stringify(clip(untypeset[0].textContent))}`] : [])];
    checks.raw_tex = textCheck(textBlocks(NOT_PROSE), RAW_TEX, 'raw TeX in visible text');
    checks.paths = textCheck(textBlocks(NOT_TEXT), MACHINE_PATH, 'machine path in page text');
    const imgs = Array.from(document.images);
    checks.images = [imgs.length, imgs.filter(i => !(i.complete && i.naturalWidth > 0))
      .map(i => `image did not load: ${i.getAttribute('src') || '(no src)'}`)];
    checks.figure_zoom = await figures();
    const xrefs = all('.xref');
    checks.xrefs = [xrefs.length, xrefs.filter(e => !e.closest('a'))
      .map(e => `unresolved cross-reference: ${JSON.stringify(clip(e.textContent))}`)];
    const boxes = all('div.proof').filter(d => THEOREMS.some(k => d.classList.contains(k)));
    checks.theorems = [boxes.length, boxes.flatMap(d => {
      const kind = THEOREMS.find(k => d.classList.contains(k));
      const t = d.querySelector(':scope > .admonition-title');
      const title = t ? clip(t.textContent) : '';
      if ((t && t.id) || new RegExp(`^${kind}\\s+\\d+(\\.\\d+)*\\b`, 'i').test(title)) return [];
      return [`${kind} box #${d.id} has no number in its title: ${JSON.stringify(title)}`];
    })];  // a title with an id is sphinx-proof's :nonumber:
    const outputs = all('.cell_output, .output')
      .filter(o => !o.parentElement.closest('.cell_output, .output') && visible(o));
    checks.pipe_tables = [outputs.length, outputs.flatMap(o => {
      const lines = o.innerText.split('\n');
      const row = lines.map(l => PIPE_ROW.test(l));
      const bad = lines.filter((l, i) => PIPE_DELIMITER.test(l) || (row[i] && (row[i - 1] || row[i + 1])));
      return bad.length ? [`pipe-table text in an output cell: ${clip(bad.slice(0, 3).join(' / '), 120)}`] : [];
    })];
    const stderr = all('.output.stderr, .stderr').filter(e => !e.parentElement.closest('.stderr'));
    checks.stderr = [outputs.length, stderr.length ? [`${stderr.length} stderr output box(es), ` +
      `e.g. ${JSON.stringify(clip(stderr[0].textContent, 100))}`] : []];
    Object.assign(checks, geometry(false));
    return out;
  }

  // The phone-width checks, after the viewport changed; figures below the font size counted.
  async function atViewport() {
    await frames();
    window.scrollTo(0, 0);
    const [n, small] = await figures();
    const checks = geometry(true);
    return {checks, figures: [n, small.length], scrolling};
  }

  async function search() {
    for (let i = 0; i < 200; i++) {
      const items = all('#search-results ul.search li, ul.search li');
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
