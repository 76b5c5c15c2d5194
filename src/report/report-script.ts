/**
 * The page's own script: draws one Chart.js line chart per entry from the
 * JSON block, without animation so the picture is there when the page is.
 * Each canvas gets data-drawn once its chart exists (the browser test reads
 * its pixels too). Plain ES2017, no imports: it runs inlined, offline.
 */
export const REPORT_SCRIPT = `
(function () {
  var data = JSON.parse(document.getElementById('chart-data').textContent);
  data.forEach(function (chart) {
    var canvas = document.getElementById(chart.id);
    if (!canvas) return;
    new Chart(canvas, {
      type: 'line',
      data: {
        labels: chart.labels,
        datasets: chart.datasets.map(function (d) {
          return { label: d.label, data: d.data, borderColor: d.color, backgroundColor: d.color, borderDash: d.dash,
                   pointStyle: d.point, pointRadius: 3, borderWidth: 2, stepped: false, tension: 0 };
        })
      },
      options: {
        animation: false, responsive: true, maintainAspectRatio: false,
        plugins: { legend: { labels: { usePointStyle: true } } },
        scales: {
          x: { title: { display: true, text: 'cycles finished when sampled' } },
          y: { beginAtZero: true, ticks: { precision: 0 }, title: { display: true, text: 'connections to the peer' } }
        }
      }
    });
    canvas.setAttribute('data-drawn', 'yes');
  });
})();
`;
