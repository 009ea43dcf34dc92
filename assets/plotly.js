// The plotly.js our pages load: its core (which always carries scatter) with only the trace types
// our figures use, bar and heatmap. This is plotly.js's own partial-bundle recipe (lib/core plus
// lib/<trace>); assets/build.mjs bundles and minifies it into static/vendor/plotly.min.js.
// A figure with another trace type draws nothing: add the trace here and in the figure builders' tests.
'use strict';

var Plotly = require('plotly.js/lib/core');

Plotly.register([require('plotly.js/lib/bar'), require('plotly.js/lib/heatmap')]);

module.exports = Plotly;
