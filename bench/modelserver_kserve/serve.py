"""KServe's Python ModelServer serving a scikit-learn joblib model the way KServe's own
sklearnserver does (get_predict_input / get_predict_response), for bench/modelserver.py.
Runs in the separate KServe environment: python serve.py MODEL_FILE NAME PORT"""

import sys

import joblib
import kserve
import uvicorn
from kserve.utils.utils import get_predict_input, get_predict_response


class SKLearnModel(kserve.Model):
    def __init__(self, name: str, path: str) -> None:
        super().__init__(name)
        self._model = joblib.load(path)
        self.ready = True

    def predict(self, payload, headers=None):
        instances = get_predict_input(payload)
        return get_predict_response(payload, self._model.predict(instances), self.name)


class _Loopback(uvicorn.Config):
    """KServe's REST server binds 0.0.0.0 with no option; the benchmark binds 127.0.0.1."""

    def __init__(self, *args, **kwargs) -> None:
        kwargs["host"] = "127.0.0.1"
        super().__init__(*args, **kwargs)


if __name__ == "__main__":
    uvicorn.Config = _Loopback
    path, name, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
    server = kserve.ModelServer(http_port=port, enable_grpc=False, workers=1)
    server.start([SKLearnModel(name, path)])
