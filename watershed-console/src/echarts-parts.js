// The parts of ECharts the console draws, registered on its tree-shakable core: the chunk is a fraction of the full build.
import * as echarts from 'echarts/core';
import { BarChart, GraphChart, LineChart, PieChart, ScatterChart } from 'echarts/charts';
import { DataZoomInsideComponent, GridComponent, LegendComponent, TooltipComponent } from 'echarts/components';
import { CanvasRenderer } from 'echarts/renderers';

echarts.use([BarChart, GraphChart, LineChart, PieChart, ScatterChart, DataZoomInsideComponent, GridComponent, LegendComponent,
  TooltipComponent, CanvasRenderer]);

export default echarts;
