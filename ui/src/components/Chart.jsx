// One ECharts chart; `option` changes update it in place (no re-creation, no flicker).
import { useEffect, useRef } from 'preact/hooks';
import { echarts } from './charts.js';

export function Chart({ option, height = 280, id }) {
  const box = useRef(null);
  const chart = useRef(null);
  useEffect(() => {
    chart.current = echarts.init(box.current);
    const resize = () => chart.current.resize();
    window.addEventListener('resize', resize);
    return () => {
      window.removeEventListener('resize', resize);
      chart.current.dispose();
    };
  }, []);
  useEffect(() => {
    // No animation: live data would be caught mid-transition, and it costs time with
    // thousands of points.
    chart.current.setOption({ animation: false, ...option }, { notMerge: true });
  }, [option]);
  return <div class="chart" id={id} ref={box} style={{ height: `${height}px` }} />;
}
