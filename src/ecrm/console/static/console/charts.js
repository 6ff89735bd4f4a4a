/*
 * eCRM console charts: renders every <div class="chart"> with the vendored Apache ECharts.
 *
 *   <div class="chart" data-chart='{"xAxis": ..., "series": [...]}'></div>   inline option JSON
 *   <div class="chart" data-chart-src="/analytics/...json"></div>            option JSON from a URL
 *
 * Write them with the template tag: {% load console_charts %}{% chart option height=280 %}.
 * ECharts (1.1 MB) is loaded only on pages that have a chart; charts are drawn on page load and
 * after every htmx swap, disposed when htmx removes them, and resized with their container.
 *
 * The option is plain ECharts JSON plus one optional key that JSON cannot express otherwise:
 *   "ecrmFormat": "integer" | "money" | "percent" | "decimal"   how values read in tooltips and
 *                                                               on the value axis
 * The same key on a value axis or on a series overrides it there: a line of rates on a second
 * axis beside bars of counts reads "79%" on its axis and in the tooltip.
 * A data item that carries a "url" opens that URL when clicked; every click is also sent as a
 * DOM event "ecrm:chartclick" (detail: name, seriesName, value, dataIndex, data) on the element.
 */
(function () {
  "use strict";

  var self = document.currentScript || document.querySelector("script[data-echarts]");
  var echartsUrl = self && self.getAttribute("data-echarts");
  var loading = null;
  var THEME = "ecrm";

  function css(name, fallback) {
    var v = getComputedStyle(document.documentElement).getPropertyValue(name);
    return (v && v.trim()) || fallback;
  }

  function loadECharts() {
    if (window.echarts) return Promise.resolve(window.echarts);
    if (loading) return loading;
    loading = new Promise(function (resolve, reject) {
      var s = document.createElement("script");
      s.src = echartsUrl;
      s.async = true;
      s.onload = function () { registerTheme(); resolve(window.echarts); };
      s.onerror = function () { loading = null; reject(new Error("echarts failed to load")); };
      document.head.appendChild(s);
    });
    return loading;
  }

  function registerTheme() {
    var text = css("--text", "#1f2633");
    var muted = css("--muted", "#667085");
    var border = css("--border", "#e4e7ee");
    var font = css("--font", "sans-serif");
    var axis = {
      axisLine: { lineStyle: { color: css("--border-strong", "#cfd5e1") } },
      axisTick: { lineStyle: { color: css("--border-strong", "#cfd5e1") } },
      axisLabel: { color: muted },
      splitLine: { lineStyle: { color: border } },
      nameTextStyle: { color: muted }
    };
    window.echarts.registerTheme(THEME, {
      color: [css("--primary", "#2f6bff"), "#12b76a", "#f79009", "#7a5af8", "#ee46bc",
              "#06aed4", "#f04438", "#84adff", "#667085", "#a6ef67"],
      backgroundColor: "transparent",
      textStyle: { fontFamily: font, color: text },
      title: { textStyle: { color: text, fontSize: 14, fontWeight: 600 }, subtextStyle: { color: muted } },
      legend: { textStyle: { color: muted } },
      tooltip: {
        backgroundColor: "#fff", borderColor: border, textStyle: { color: text, fontSize: 12.5 },
        extraCssText: "box-shadow: 0 4px 12px rgba(16,24,40,.12); border-radius: 8px;"
      },
      categoryAxis: axis, valueAxis: axis, timeAxis: axis, logAxis: axis,
      visualMap: { inRange: { color: [css("--primary-soft", "#eaf0ff"), css("--primary", "#2f6bff")] },
                   textStyle: { color: muted } },
      grid: { left: 12, right: 16, top: 36, bottom: 8, containLabel: true }
    });
  }

  var lang = (document.documentElement.lang || "en").toLowerCase();
  var locale = lang.indexOf("zh") === 0 ? "zh-CN" : "en-US";

  var FORMATS = {
    integer: function (v) {
      return v == null || v === "" ? "—" : Number(v).toLocaleString(locale, { maximumFractionDigits: 0 });
    },
    decimal: function (v) {
      return v == null || v === "" ? "—" : Number(v).toLocaleString(locale, { maximumFractionDigits: 2 });
    },
    money: function (v) {
      return v == null || v === "" ? "—" : Number(v).toLocaleString(locale, { minimumFractionDigits: 2, maximumFractionDigits: 2 });
    },
    percent: function (v) {
      return v == null || v === "" ? "—" : (Number(v) * 100).toLocaleString(locale, { maximumFractionDigits: 1 }) + "%";
    }
  };

  // The format named by item.ecrmFormat (removed from the item), else the chart's.
  function ownFormat(item, fallback) {
    var own = item && FORMATS[item.ecrmFormat];
    if (item) delete item.ecrmFormat;
    return own || fallback;
  }

  function applyFormat(option) {
    var fmt = ownFormat(option, null);
    if (fmt) {
      var tooltip = option.tooltip || {};
      if (Array.isArray(tooltip)) tooltip = tooltip[0] || {};
      if (!tooltip.valueFormatter) tooltip.valueFormatter = fmt;
      option.tooltip = tooltip;
    }
    ["xAxis", "yAxis"].forEach(function (key) {
      var axes = option[key];
      if (!axes) return;
      (Array.isArray(axes) ? axes : [axes]).forEach(function (a) {
        var axisFmt = ownFormat(a, fmt);
        if (a.type === "value" && axisFmt) {
          a.axisLabel = a.axisLabel || {};
          if (!a.axisLabel.formatter) a.axisLabel.formatter = axisFmt;
        }
      });
    });
    if (fmt && option.visualMap && !Array.isArray(option.visualMap) && !option.visualMap.formatter) {
      option.visualMap.formatter = fmt;
    }
    (option.series || []).forEach(function (s) {
      var seriesFmt = ownFormat(s, fmt);
      if (!seriesFmt) return;
      if (seriesFmt !== fmt) {
        s.tooltip = s.tooltip || {};
        if (!s.tooltip.valueFormatter) s.tooltip.valueFormatter = seriesFmt;
      }
      if (s.label && s.label.show && !s.label.formatter) {
        s.label.formatter = function (p) {
          var v = Array.isArray(p.value) ? p.value[p.value.length - 1] : p.value;
          return seriesFmt(v);
        };
      }
    });
    return option;
  }

  var observer = window.ResizeObserver ? new ResizeObserver(function (entries) {
    entries.forEach(function (e) {
      var chart = window.echarts && window.echarts.getInstanceByDom(e.target);
      if (chart) chart.resize();
    });
  }) : null;

  function show(el, option) {
    var echarts = window.echarts;
    if (!el.isConnected) return;
    if (!el.style.height && el.clientHeight < 40) el.style.height = "300px";
    var chart = echarts.getInstanceByDom(el) || echarts.init(el, THEME, { locale: locale === "zh-CN" ? "ZH" : "EN" });
    chart.setOption(applyFormat(option), true);
    chart.off("click");
    chart.on("click", function (p) {
      var data = p.data && typeof p.data === "object" ? p.data : null;
      el.dispatchEvent(new CustomEvent("ecrm:chartclick", {
        bubbles: true,
        detail: { name: p.name, seriesName: p.seriesName, value: p.value, dataIndex: p.dataIndex, data: data }
      }));
      if (data && typeof data.url === "string" && data.url.charAt(0) === "/") window.location.href = data.url;
    });
    if (observer) observer.observe(el);
  }

  function failed(el) {
    el.classList.add("chart-failed");
    el.textContent = el.getAttribute("data-chart-error") || "—";
  }

  function render(el) {
    if (el.getAttribute("data-chart-rendered") === "1") return;
    el.setAttribute("data-chart-rendered", "1");
    var src = el.getAttribute("data-chart-src");
    var text = el.getAttribute("data-chart");
    var optionPromise = src
      ? fetch(src, { credentials: "same-origin", headers: { Accept: "application/json" } })
          .then(function (r) { if (!r.ok) throw new Error(r.status); return r.json(); })
      : Promise.resolve(JSON.parse(text || "{}"));
    Promise.all([loadECharts(), optionPromise])
      .then(function (got) { show(el, got[1]); })
      .catch(function () { failed(el); });
  }

  function renderWithin(root) {
    if (!root || !root.querySelectorAll) return;
    if (root.classList && root.classList.contains("chart")) render(root);
    Array.prototype.forEach.call(root.querySelectorAll(".chart"), render);
  }

  function disposeWithin(root) {
    if (!window.echarts || !root || !root.querySelectorAll) return;
    Array.prototype.forEach.call(root.querySelectorAll(".chart"), function (el) {
      var chart = window.echarts.getInstanceByDom(el);
      if (chart) chart.dispose();
      if (observer) observer.unobserve(el);
    });
  }

  var resizeTimer = null;
  window.addEventListener("resize", function () {
    clearTimeout(resizeTimer);
    resizeTimer = setTimeout(function () {
      if (!window.echarts) return;
      Array.prototype.forEach.call(document.querySelectorAll(".chart"), function (el) {
        var chart = window.echarts.getInstanceByDom(el);
        if (chart) chart.resize();
      });
    }, 120);
  });

  document.addEventListener("htmx:beforeSwap", function (e) { disposeWithin(e.detail && e.detail.target); });
  document.addEventListener("htmx:afterSwap", function (e) { renderWithin(e.detail && e.detail.target); });
  document.addEventListener("htmx:load", function (e) { renderWithin(e.detail && e.detail.elt); });

  /* Re-render a chart after its data-chart attribute changed: window.ecrmCharts.refresh(el). */
  window.ecrmCharts = {
    refresh: function (el) { el.removeAttribute("data-chart-rendered"); render(el); },
    renderWithin: renderWithin
  };

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", function () { renderWithin(document.body); });
  } else {
    renderWithin(document.body);
  }
})();
