// In-page half of book_toolchain.sitecheck, with sitecheck.js: what a reader can read of the
// figures and the inline formulas, at 1440 px and on a phone (390 px). Installed as an init
// script after sitecheck.js, whose helpers it uses (window.__sitecheck.util); the checks are
// defined in the docstring of sitecheck.py and return [elements checked, [failure messages]].
window.__sitecheckPhone = (() => {
  const FIGURES = 'figure img, .figure img, .cell_output img, .output img';
  const FONT_PT = 10, MIN_FONT_PX = 9, DEFAULT_DPI = 100;
  const IMAGE_FILE = /\.(?:png|jpe?g|gif|svg|webp)$/i;
  const dpiOf = new Map();  // image URL -> dpi from its PNG pHYs chunk (null: none)
  const u = () => window.__sitecheck.util;

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

  // Each visible figure image and the size its default 10 pt font shows at, in CSS px.
  async function fonts() {
    const {all, visible} = u();
    const imgs = Array.from(new Set(all(FIGURES))).filter(i => i.naturalWidth > 0 && visible(i));
    const out = [];
    for (const img of imgs) {
      const dpi = await pngDpi(img.currentSrc || img.src);
      const shown = img.getBoundingClientRect().width, scale = shown / img.naturalWidth;
      out.push({img, dpi, shown, scale, px: FONT_PT * dpi / 72 * scale});
    }
    return out;
  }
  const describe = f => `figure font ${f.px.toFixed(1)} px < ${MIN_FONT_PX} px: ` +
    `${f.img.naturalWidth} px wide at ${Math.round(f.dpi)} dpi shown at ${Math.round(f.shown)} ` +
    `px (${Math.round(100 * f.scale)}%): ${u().clip(f.img.getAttribute('src'), 80)}`;

  // figure_zoom (1440 px): every figure's font at least MIN_FONT_PX.
  async function figureZoom() {
    const fs = await fonts();
    return [fs.length, fs.filter(f => f.px < MIN_FONT_PX).map(describe)];
  }

  // Does the element show a cue: a pseudo-element with text (::after, ::before) or a visible
  // .zoom-hint in it?
  function hasCue(el) {
    const text = p => {
      const cs = getComputedStyle(el, p);
      return cs.display !== 'none' && cs.visibility !== 'hidden' && /^["'].*\S.*["']$/.test(cs.content);
    };
    const hint = el.querySelector('.zoom-hint');
    return text('::after') || text('::before') || Boolean(hint && u().visible(hint));
  }

  // figure_390: a figure whose font shows below MIN_FONT_PX opens full size on a tap: it is a
  // link to an image file (at its natural size the font is readable) showing a cue that says so.
  async function figurePhone() {
    const fs = await fonts(), small = fs.filter(f => f.px < MIN_FONT_PX);
    const bad = small.flatMap(f => {
      const a = f.img.closest('a[href]');
      const href = a ? new URL(a.getAttribute('href'), location.href) : null;
      const same = href && href.href === new URL(f.img.currentSrc || f.img.src).href;
      const full = FONT_PT * f.dpi / 72;  // at the natural size of the same file
      let why = null;
      if (!href || !IMAGE_FILE.test(href.pathname)) why = 'no link to the image at full size';
      else if (same && full < MIN_FONT_PX) why = `even at full size its font is ${full.toFixed(1)} px`;
      else if (!hasCue(a)) why = 'its link to full size shows no cue (e.g. "full size")';
      return why ? [`${describe(f)} at ${innerWidth} px, and ${why}`] : [];
    });
    return {check: [small.length, bad], n: fs.length, small: small.length};
  }

  // inline_math_390: an inline formula lies inside the column, or it scrolls inside a box of its
  // own that shows a cue (a fading edge: mask-image; or a .scroll-hint after the box). A box
  // that clips it (overflow hidden, as pydata-sphinx-theme's span.math), the article or the
  // viewport cutting it fails.
  function inlineMath() {
    const {all, visible, clip, name, article, clientBox} = u();
    const top = article();
    const maths = all('mjx-container:not([display="true"])')
      .filter(c => visible(c) && top.contains(c) && !c.closest('.tippy-box'));
    const bad = [];
    for (const c of maths) {
      const r = (c.querySelector('mjx-math') || c).getBoundingClientRect();
      if (!r.width) continue;
      let edge = {left: r.left, right: r.right}, problem = null;
      for (let e = c.parentElement; e && !problem; e = e.parentElement) {
        const cs = getComputedStyle(e);
        if (cs.display === 'inline' || cs.display === 'contents') continue;  // overflow n/a
        const box = clientBox(e), over = edge.left < box.left - 1 || edge.right > box.right + 1;
        if (/auto|scroll/.test(cs.overflowX)) {
          const mask = [cs.maskImage, cs.webkitMaskImage].some(m => m && m !== 'none');
          const hint = e.nextElementSibling;
          if (over && !(mask || (hint && hint.classList.contains('scroll-hint') && visible(hint))))
            problem = `scrolls inside a ${name(e)} without a cue`;
          const b = e.getBoundingClientRect();  // it scrolls inside e: e has to fit from here on
          edge = {left: b.left, right: b.right};
        } else if (over && (/hidden|clip/.test(cs.overflowX) || e === top)) {
          problem = `${Math.round(edge.right - edge.left)} px wide, cut by a ` +
            `${Math.round(box.right - box.left)} px ${name(e)}`;
        }
        if (e === top) break;
      }
      if (!problem && (edge.left < -1 || edge.right > innerWidth + 1))
        problem = `reaches x = ${Math.round(edge.left)}..${Math.round(edge.right)} of ${innerWidth} px`;
      if (!problem) continue;
      let tex = c.textContent;
      try {
        tex = MathJax.startup.document.getMathItemsWithin(c.parentElement)
          .find(m => m.typesetRoot === c).math;
      } catch (e) { /* the text MathJax left */ }
      bad.push(`inline formula ${JSON.stringify(clip(tex, 70))} at ${innerWidth} px: ${problem}`);
    }
    return [maths.length, bad];
  }

  return {figureZoom, figurePhone, inlineMath};
})();
