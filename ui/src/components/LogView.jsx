// A log served by offset at `${path}` with its `${path}/stream` (a step's, a training job
// replica's): what is written so far, then the rest as it is written (server-sent events)
// until the log is complete; a finished one is read once.
import { useEffect, useRef, useState } from 'preact/hooks';
import { API, logChunk, subscribe } from '../api.js';
import { enc } from './common.jsx';

const RUNNING = ['READY', 'RUNNING'];

// A step's log.
export function LogView({ runId, stepId, state }) {
  return (
    <LogFollow
      path={`/runs/${enc(runId)}/steps/${enc(stepId)}/log`}
      running={RUNNING.includes(state)}
      id="step-log"
    />
  );
}

// The log at `path` (with `query`), `running` while more may come; `id` of its <pre>.
export function LogFollow({ path, query = {}, running, id }) {
  const [text, setText] = useState('');
  const [status, setStatus] = useState('loading');
  const [error, setError] = useState(null);
  const box = useRef(null);
  const search = new URLSearchParams(Object.entries(query).filter(([, v]) => v)).toString();

  useEffect(() => {
    let stop = () => {};
    let live = true;
    setText('');
    setError(null);
    setStatus('loading');
    logChunk(path, 0, query).then(
      (chunk) => {
        if (!live) return;
        setText(chunk.text);
        if (chunk.complete) {
          setStatus('complete');
          return;
        }
        setStatus('streaming');
        stop = subscribe(`${path}/stream`, { ...query, offset: String(chunk.size) }, (name, data) => {
          if (name === 'log' && data && typeof data.text === 'string') setText((t) => t + data.text);
          else if (name === 'end') {
            setStatus('complete');
            stop();
          }
        });
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
  }, [path, search, running]);

  useEffect(() => {
    if (box.current) box.current.scrollTop = box.current.scrollHeight;
  }, [text]);

  return (
    <div class="log">
      <div class="muted small">
        {status === 'streaming' ? 'streaming…' : status === 'complete' ? 'complete' : status === 'waiting' ? 'no log yet' : ''}{' '}
        <a href={`${API}${path}${search ? `?${search}` : ''}`} target="_blank" rel="noopener">raw</a>
      </div>
      {error && !text && <div class="muted">{String(error.message)}</div>}
      <pre id={id} ref={box}>{text}</pre>
    </div>
  );
}
