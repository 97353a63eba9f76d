// The server serves uPlot's own ES module (node_modules/uplot/dist/uPlot.esm.js) beside the view's
// scripts under this name; its types are the package's.
import uPlot from 'uplot';
export default uPlot;
