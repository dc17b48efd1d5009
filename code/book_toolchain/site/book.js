// The book's own page script, added by book_toolchain.site_fixes with `defer`: it runs once the
// page is parsed, before pydata-sphinx-theme's deferred script (which sits at the end of <body>).
(() => {
  "use strict";

  // 1. Navigation. pydata-sphinx-theme 0.17 renders its own sidebar toggles in the top bar
  //    (#pst-header, hidden under sphinx-book-theme), and wires only the *first*
  //    `.primary-toggle` and `.secondary-toggle` of the page (document.querySelector), as does
  //    sphinx-book-theme 1.3's wide-screen collapse. sphinx-book-theme draws the visible toggles
  //    in the article header, later in the page, so they got no listener: a click showed the
  //    tooltip and nothing else (pydata-sphinx-theme issue 2451). Removing the hidden copies
  //    before the themes' scripts run makes the visible ones the first.
  for (const button of document.querySelectorAll(
    "#pst-header .primary-toggle, #pst-header .secondary-toggle")) {
    button.remove();
  }

  // 2. A figure opens full size on a tap (book.css labels it so on a narrow screen, where its
  //    labels are too small to read). Sphinx links the figures it scales to their file; an
  //    image a code cell drew, or a figure without a width, gets the same link here.
  for (const img of document.querySelectorAll(".bd-article figure img, .bd-article .cell_output img")) {
    const src = img.getAttribute("src");
    if (img.closest("a") || !src || src.startsWith("data:")) continue;  // no page for data: URLs
    const link = document.createElement("a");
    link.className = "reference internal image-reference";
    link.href = src;
    img.before(link);
    link.append(img);
  }

  // 3. Wide tables, displays and inline formulas scroll inside their own box; one that overflows
  //    at the current width is marked .scrolls-x (book.css fades its edge); a table or a display
  //    also gets a "scroll" hint under it (under an inline formula it would split the sentence).
  const BOXES = ".bd-article .pst-scrollable-table-container, .bd-article table.indextable, " +
    '.bd-article mjx-container[display="true"], .bd-article span.math';
  function measure(box) {
    return {box, over: box.scrollWidth > box.clientWidth + 1, start: box.scrollLeft <= 1,
            end: box.scrollLeft + box.clientWidth >= box.scrollWidth - 1};
  }
  function mark({box, over, start, end}) {
    box.classList.toggle("scrolls-x", over);
    box.classList.toggle("at-start", start);
    box.classList.toggle("at-end", end);
    if (box.matches("span.math")) return;
    // A display's box sits in div.math, a flex row (reversed, for the equation number): the
    // hint goes under the div.math, not beside the formula.
    const under = box.parentElement && box.parentElement.matches("div.math") ? box.parentElement : box;
    let hint = under.nextElementSibling;
    if (!(hint && hint.classList.contains("scroll-hint"))) hint = null;
    if (over && !hint) {
      hint = document.createElement("span");
      hint.className = "scroll-hint";
      hint.setAttribute("aria-hidden", "true");
      hint.textContent = "scroll sideways for more \u2192";
      under.after(hint);
    } else if (!over && hint) {
      hint.remove();
    }
  }
  function markAll() {
    const boxes = Array.from(document.querySelectorAll(BOXES));
    for (const box of boxes) {
      if (!box.dataset.bookScroll) {
        box.dataset.bookScroll = "1";
        box.addEventListener("scroll", () => mark(measure(box)), {passive: true});
      }
    }
    // All measured first, then all marked: hundreds of formulas, one layout.
    boxes.map(measure).forEach(mark);
  }
  let pending = null;
  const later = () => { clearTimeout(pending); pending = setTimeout(markAll, 50); };
  window.addEventListener("resize", later);
  window.addEventListener("load", () => {
    markAll();
    if (window.MathJax && MathJax.startup && MathJax.startup.promise) {
      MathJax.startup.promise.then(markAll);
    }
  });
  if (window.ResizeObserver) {
    const article = document.querySelector(".bd-article");
    if (article) new ResizeObserver(later).observe(article);
  }
  window.__bookMarkScroll = markAll;  // for the browser check and the PDF printer
})();
