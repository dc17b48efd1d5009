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
  const MAX_CODE_SHARE = 0.15, MIN_CONTRAST = 4.5;
  // A number as printed: 1,234.5, -0.25, 1.68e-02, 5.93 × 10⁴, 10⁻⁶ (the whole text of a cell).
  const NUMBER = /^[−+-]?(?:(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?(?:[eE][+−-]?\d+|\s*×\s*10[⁻⁰¹²³⁴⁵⁶⁷⁸⁹]+)?|10[⁻⁰¹²³⁴⁵⁶⁷⁸⁹]+)$/;
  // e-notation, or a float with nine or more decimals ("1.000000000000"), in prose.
  const RAW_NUMBER = /(?<![\w.])\d+(?:\.\d+)?[eE][+−-]?\d+(?![\w.])|(?<![\w.])\d+\.\d{9,}/g;
  // What a Python repr looks like in an output cell.
  const REPR = [
    [/\{\s*['"][^'"\n]{1,60}['"]\s*:/, 'a printed dict'],
    [/\[\s*(?:(?:'[^'\n]*'|"[^"\n]*"|-?\d+(?:\.\d+)?(?:e[+-]?\d+)?)\s*[,\]]|\(|\[)/, 'a printed list'],
    [/\(\s*-?\d[\d.e+-]*\s*,\s*-?\d/, 'a printed tuple'],
    [/\b(?:array|tensor|np\.float64|np\.int64|Parameter)\(/, 'a printed array or tensor'],
    [/<[\w.]+ object at 0x[0-9a-f]+>/, 'an object repr'],
    [/(?<![\w.])-?\d+\.\d{8,}(?:e[+-]?\d+)?/, 'a raw float'],
  ];
  const SECTION_NUMBER = /^\s*\d+(?:\.\d+)*\.?\s/;
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

  // Client box (inside the borders, without a scrollbar), in viewport coordinates.
  function clientBox(el) {
    const left = el.getBoundingClientRect().left + el.clientLeft;
    return {left, right: left + el.clientWidth};
  }

  const scrollsX = e => /auto|scroll/.test(getComputedStyle(e).overflowX);
  const pageLabel = e => clip(e.textContent, 50);

  // Number of text lines an element's content takes (rects grouped by their top edge).
  function lines(el) {
    const range = document.createRange();
    range.selectNodeContents(el);
    const tops = Array.from(range.getClientRects()).filter(r => r.width > 0 && r.height > 0)
      .map(r => r.top).sort((a, b) => a - b);
    const gap = 0.6 * parseFloat(getComputedStyle(el).fontSize || '16');
    let n = tops.length ? 1 : 0;
    for (let i = 1; i < tops.length; i++) if (tops[i] - tops[i - 1] > gap) n++;
    return n;
  }

  // number_wrap: a table cell or a pasted number whose whole text is a number takes 1 line.
  function numberWrap() {
    const cells = all('article td, article th, article .pasted-text, article .num')
      .filter(e => visible(e) && NUMBER.test(e.textContent.trim()));
    return [cells.length, cells.filter(e => lines(e) > 1).map(e =>
      `number broken across lines at ${innerWidth} px: ${JSON.stringify(e.textContent.trim())}`)];
  }

  // The box a table or a display scrolls in (itself or an ancestor inside the article).
  function scrollBox(el) {
    const top = article();
    for (let e = el; e && e !== top && e !== document.body; e = e.parentElement)
      if (scrollsX(e)) return e;
    return null;
  }
  const wideThings = () => all('article table').filter(t => !t.closest('.highlight, .tippy-box'))
    .concat(all('div.math, mjx-container[display="true"]')).filter(visible);

  // table_columns (1440 px): every column of every table is in view without scrolling.
  function tableColumns() {
    const tables = all('article table').filter(t => visible(t) && !t.closest('.highlight'));
    const bad = [];
    for (const t of tables) {
      const box = scrollBox(t) || article();
      const right = clientBox(box).right;
      const head = t.querySelector('thead tr') || t.querySelector('tr');
      const hidden = head ? Array.from(head.children)
        .filter(c => c.getBoundingClientRect().right > right + 1).map(pageLabel) : [];
      if (box.scrollWidth > box.clientWidth + 1 || hidden.length)
        bad.push(`table ${JSON.stringify(clip(t.querySelector('caption, tr') &&
          t.querySelector('caption, tr').textContent, 60))} at ${innerWidth} px: ` +
          `${box.scrollWidth} px wide in ${box.clientWidth} px, columns cut or hidden: ` +
          `${hidden.length ? hidden.join(' | ') : '(the last one)'}`);
    }
    return [tables.length, bad];
  }

  // scroll_cue (390 px): a box that scrolls sideways shows that it does: a fading edge
  // (mask-image) or a visible .scroll-hint right after it.
  function scrollCue() {
    const boxes = Array.from(new Set(wideThings().map(scrollBox).filter(Boolean)));
    const over = boxes.filter(b => b.scrollWidth > b.clientWidth + 1);
    return [boxes.length, over.filter(b => {
      const cs = getComputedStyle(b);
      const mask = [cs.maskImage, cs.webkitMaskImage].some(m => m && m !== 'none');
      const hint = b.nextElementSibling;
      return !(mask || (hint && hint.classList.contains('scroll-hint') && visible(hint)));
    }).map(b => `${name(b)} scrolls sideways at ${innerWidth} px (${b.scrollWidth} px in ` +
      `${b.clientWidth} px) without a scroll cue: ${JSON.stringify(clip(b.textContent, 60))}`)];
  }

  // code_share (1440 px, before any "show code" toggle is opened): visible code cells take at
  // most MAX_CODE_SHARE of the article's height.
  function codeShare() {
    const top = article(), height = top.getBoundingClientRect().height;
    const code = all('.cell_input', top).filter(visible)
      .reduce((sum, c) => sum + c.getBoundingClientRect().height, 0);
    const share = height > 0 ? code / height : 0;
    return {share, check: [1, share > MAX_CODE_SHARE ? [`visible code is ` +
      `${(100 * share).toFixed(1)}% of the page's height (at most ${100 * MAX_CODE_SHARE}%)`] : []]};
  }

  // repr_output: no output cell shows a Python repr (a dict, list, tuple, array, raw float).
  function reprOutput() {
    const outs = all('.cell_output pre, .output pre')
      .filter(o => visible(o) && !o.closest('.stderr'));
    return [outs.length, outs.flatMap(o => {
      const hit = REPR.find(([re]) => re.test(o.textContent));
      return hit ? [`${hit[1]} in an output cell: ${JSON.stringify(clip(
        o.textContent.match(hit[0])[0] + ' … ' + o.textContent, 90))}`] : [];
    })];
  }

  // heading_number: a heading's own text does not start with a number after its section number.
  function headingNumber() {
    const hs = all('article h1, article h2, article h3, article h4, article h5, article h6');
    return [hs.length, hs.flatMap(h => {
      const t = h.textContent.replace(/[#¶]\s*$/, '').trim();
      return /^\d+(?:\.\d+)*\.?\s+\d+[.)]\s/.test(t) ? [`heading numbered twice: ${JSON.stringify(clip(t))}`] : [];
    })];
  }

  // proof_title: a proof box is not titled twice ("Proof of Theorem 6.1." then "Proof.").
  function proofTitle() {
    const boxes = all('div.proof.admonition').filter(d => /^\s*Proof\b/.test(d.textContent));
    return [boxes.length, boxes.flatMap(d => {
      const prev = d.previousElementSibling, own = d.textContent.trim();
      const twice = /^Proof of [^\n]*?\.\s+Proof\./.test(own) ||
        (prev && /^\s*Proof( of\b.*)?\.\s*$/.test(prev.textContent) && /^Proof\./.test(own));
      return twice ? [`proof titled twice: ${JSON.stringify(clip((prev ? prev.textContent + ' ' : '') + own, 70))}`] : [];
    })];
  }

  // caption_code: captions show words and numbers, not code (no <code> in a caption).
  function captionCode() {
    const CAPS = 'figcaption, caption, .caption, .caption-text';
    const caps = all(CAPS).filter(c => !c.parentElement.closest(CAPS));
    return [caps.length, caps.flatMap(c => c.querySelector('code')
      ? [`code in a caption: ${JSON.stringify(clip(c.querySelector('code').textContent, 40))} in ` +
         `${JSON.stringify(clip(c.textContent, 80))}`] : [])];
  }

  // table_caption: on a numbered page every table has a numbered caption ("Table 3.1: …").
  function tableCaption(h1) {
    const tables = all('article table').filter(t => visible(t) && !t.closest('.highlight'));
    if (!SECTION_NUMBER.test(h1)) return [0, []];
    return [tables.length, tables.filter(t => !t.querySelector('caption .caption-number'))
      .map(t => `table without a numbered caption: ${JSON.stringify(clip(t.textContent, 70))}`)];
  }

  // Contrast of text on what is behind it (WCAG 2 ratio), backgrounds composited upwards.
  function rgba(s) {
    const m = (s || '').match(/rgba?\(([^)]+)\)/);
    if (!m) return [0, 0, 0, 0];
    const v = m[1].split(/[\s,\/]+/).filter(Boolean).map(Number);
    return [v[0], v[1], v[2], v.length > 3 ? v[3] : 1];
  }
  function over(top, bottom) {  // top composited over an opaque bottom
    const a = top[3];
    return [0, 1, 2].map(i => top[i] * a + bottom[i] * (1 - a)).concat([1]);
  }
  function backgroundOf(el) {
    const layers = [];
    for (let e = el; e; e = e.parentElement) {
      const c = rgba(getComputedStyle(e).backgroundColor);
      if (c[3] > 0) layers.push(c);
      if (c[3] >= 1) break;
    }
    let bg = [255, 255, 255, 1];
    for (const c of layers.reverse()) bg = over(c, bg);
    return bg;
  }
  function luminance(c) {
    const [r, g, b] = c.slice(0, 3).map(v => {
      v /= 255;
      return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4);
    });
    return 0.2126 * r + 0.7152 * g + 0.0722 * b;
  }
  function contrast(el) {
    const bg = backgroundOf(el), fg = over(rgba(getComputedStyle(el).color), bg);
    const [a, b] = [luminance(fg), luminance(bg)].sort((x, y) => y - x);
    return (a + 0.05) / (b + 0.05);
  }

  // hover_contrast: the hover previews (tippy) of up to three references: all their text at
  // least MIN_CONTRAST against what is behind it.
  async function hoverContrast() {
    const refs = all('a[href]').filter(a => a._tippy).slice(0, 3);
    const bad = [];
    for (const a of refs) {
      a._tippy.show();
      await frames();
      await sleep(30);
      const box = a._tippy.popper.querySelector('.tippy-box') || a._tippy.popper;
      const texts = Array.from(box.querySelectorAll('*')).filter(e => visible(e) &&
        Array.from(e.childNodes).some(n => n.nodeType === 3 && n.data.trim()) &&
        !e.closest('mjx-container'));
      for (const e of texts) {
        const ratio = contrast(e);
        if (ratio < MIN_CONTRAST) {
          bad.push(`hover preview of ${JSON.stringify(clip(a.textContent, 30))}: text ` +
            `${JSON.stringify(clip(e.textContent, 40))} has contrast ${ratio.toFixed(2)} ` +
            `(at least ${MIN_CONTRAST})`);
          break;
        }
      }
      a._tippy.hide();
      a._tippy.unmount && a._tippy.unmount();
    }
    return [refs.length, bad];
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
  let opened = [];
  async function collect() {
    const before = codeShare();
    opened = all('details:not([open])');
    for (const d of opened) d.open = true;
    await frames();
    const h1 = document.querySelector('article h1') || document.querySelector('main h1, h1');
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
    out.codeShare = before.share;
    checks.code_share = before.check;
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
    checks.figure_zoom = await window.__sitecheckPhone.figureZoom();
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
    checks.table_columns = tableColumns();
    checks.number_wrap = numberWrap();
    checks.repr_output = reprOutput();
    checks.caption_code = captionCode();
    checks.table_caption = tableCaption(out.h1);
    checks.raw_number = textCheck(textBlocks(NOT_PROSE), RAW_NUMBER, 'e-notation or a raw float');
    checks.heading_number = headingNumber();
    checks.proof_title = proofTitle();
    checks.hover_contrast = await hoverContrast();
    return out;
  }

  // Back to what a reader sees first (for a screenshot), and open again.
  async function closeOpened() { for (const d of opened) d.open = false; await frames(); }
  async function reopen() { for (const d of opened) d.open = true; await frames(); }

  // The phone-width checks, after the viewport changed; figures below the font size counted.
  async function atViewport() {
    await frames();
    window.scrollTo(0, 0);
    if (window.__bookMarkScroll) window.__bookMarkScroll();  // the site's own cue, up to date
    await frames();
    const phone = window.__sitecheckPhone, figs = await phone.figurePhone();
    const checks = geometry(true);
    checks.scroll_cue = scrollCue();
    checks.figure_390 = figs.check;
    checks.inline_math_390 = phone.inlineMath();
    const wraps = numberWrap();
    checks.number_wrap = [0, wraps[1]];  // counted once, at 1440 px
    return {checks, figures: [figs.n, figs.small], scrolling};
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

  // Navigation: is the site's table of contents (primary) or the page's (secondary) on screen?
  function shown(selector) {
    return all(selector).some(e => {
      if (!e.checkVisibility || !e.checkVisibility({visibilityProperty: true, opacityProperty: true}))
        return false;
      const r = e.getBoundingClientRect();
      return r.width > 20 && r.height > 20 && r.right > 10 && r.left < innerWidth - 10 &&
        r.bottom > 0 && r.top < innerHeight;
    });
  }
  const PRIMARY = '.bd-docs-nav, nav.bd-links, .bd-sidebar-primary .sidebar-primary-items__middle';
  const SECONDARY = '.bd-toc-nav, #pst-page-toc-nav, .page-toc';
  function nav() {
    const has = sel => all(sel).length > 0;
    const toggle = sel => all(sel).filter(b => visible(b) && b.getBoundingClientRect().width > 0);
    return {
      themed: has('#pst-primary-sidebar') || has('.bd-sidebar-primary'),
      hasToc: all(SECONDARY).some(e => e.querySelector('a')),
      primary: shown(PRIMARY), secondary: shown(SECONDARY),
      primaryToggle: toggle('.primary-toggle').length, secondaryToggle: toggle('.secondary-toggle').length,
    };
  }

  // sitecheck_phone.js's checks use these helpers.
  const util = {all, visible, clip, name, article, clientBox};
  return {ready, collect, closeOpened, reopen, atViewport, search, nav, util};
})();
