"""Training actions."""

from synapse_sdk.plugins.actions.train.action import BaseTrainAction, BaseTrainParams, TrainContext, TrainProgress

__all__ = ['BaseTrainAction', 'BaseTrainParams', 'TrainContext', 'TrainProgress']
