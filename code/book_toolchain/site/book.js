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

  // 2. Wide tables and displays scroll inside their own box; one that overflows at the current
  //    width is marked .scrolls-x (book.css fades its edge) and gets a "scroll" hint under it.
  const BOXES = ".bd-article .pst-scrollable-table-container, .bd-article table.indextable, " +
    '.bd-article mjx-container[display="true"]';
  function mark(box) {
    const over = box.scrollWidth > box.clientWidth + 1;
    box.classList.toggle("scrolls-x", over);
    box.classList.toggle("at-start", box.scrollLeft <= 1);
    box.classList.toggle("at-end", box.scrollLeft + box.clientWidth >= box.scrollWidth - 1);
    let hint = box.nextElementSibling;
    if (!(hint && hint.classList.contains("scroll-hint"))) hint = null;
    if (over && !hint) {
      hint = document.createElement("span");
      hint.className = "scroll-hint";
      hint.setAttribute("aria-hidden", "true");
      hint.textContent = "scroll sideways for more \u2192";
      box.after(hint);
    } else if (!over && hint) {
      hint.remove();
    }
  }
  function markAll() {
    for (const box of document.querySelectorAll(BOXES)) {
      if (!box.dataset.bookScroll) {
        box.dataset.bookScroll = "1";
        box.addEventListener("scroll", () => mark(box), {passive: true});
      }
      mark(box);
    }
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
