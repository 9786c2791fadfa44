// A step's log: what is written so far, then the rest as it is written (server-sent events
// from .../log/stream) until the log is complete; a finished step's log is read once.
import { useEffect, useRef, useState } from 'preact/hooks';
import { API, logChunk, subscribe } from '../api.js';
import { enc } from './common.jsx';

const RUNNING = ['READY', 'RUNNING'];

export function LogView({ runId, stepId, state }) {
  const [text, setText] = useState('');
  const [status, setStatus] = useState('loading');
  const [error, setError] = useState(null);
  const box = useRef(null);
  const running = RUNNING.includes(state);

  useEffect(() => {
    let stop = () => {};
    let live = true;
    setText('');
    setError(null);
    setStatus('loading');
    logChunk(runId, stepId, 0).then(
      (chunk) => {
        if (!live) return;
        setText(chunk.text);
        if (chunk.complete) {
          setStatus('complete');
          return;
        }
        setStatus('streaming');
        stop = subscribe(
          `/runs/${enc(runId)}/steps/${enc(stepId)}/log/stream`,
          { offset: String(chunk.size) },
          (name, data) => {
            if (name === 'log' && data && typeof data.text === 'string') setText((t) => t + data.text);
            else if (name === 'end') {
              setStatus('complete');
              stop();
            }
          },
        );
      },
      (e) => {
        if (!live) return;
        setError(e);
        setStatus(running ? 'waiting' : 'none');
      },
    );
    return () => {
      live = false;
      stop();
    };
  }, [runId, stepId, running]);

  useEffect(() => {
    if (box.current) box.current.scrollTop = box.current.scrollHeight;
  }, [text]);

  return (
    <div class="log">
      <div class="muted small">
        {status === 'streaming' ? 'streaming…' : status === 'complete' ? 'complete' : status === 'waiting' ? 'no log yet' : ''}{' '}
        <a href={`${API}/runs/${enc(runId)}/steps/${enc(stepId)}/log`} target="_blank" rel="noopener">raw</a>
      </div>
      {error && !text && <div class="muted">{String(error.message)}</div>}
      <pre id="step-log" ref={box}>{text}</pre>
    </div>
  );
}
