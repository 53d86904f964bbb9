"""Protobuf schemas for the two text formats nvinferserver reads, built at run time.

``nvdsinferserver.config.PluginControl`` is the subset of DeepStream's ``nvdsinferserver_config.proto`` that
vistream implements (same message, field and enum names, so DeepStream configs parse unchanged), and
``inference.ModelConfig`` the subset of Triton's ``model_config.proto`` that a model repository's
``config.pbtxt`` needs. Both are declared here as compact tables and turned into real protobuf descriptors
(``descriptor_pb2`` -> ``DescriptorPool`` -> message classes), so parsing is done by protobuf's own
``text_format`` (no protoc step, no hand-written parser). The files are proto2 so that ``HasField`` tells a
value that was written from one left at its default.
"""

from __future__ import annotations

from functools import cache

from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

F = descriptor_pb2.FieldDescriptorProto
_SCALARS = {"string": F.TYPE_STRING, "bool": F.TYPE_BOOL, "int32": F.TYPE_INT32, "int64": F.TYPE_INT64,
            "uint32": F.TYPE_UINT32, "uint64": F.TYPE_UINT64, "float": F.TYPE_FLOAT, "double": F.TYPE_DOUBLE}

# message name -> [(field, type, repeated?, oneof-or-None, default-or-None)]; a type that is not a scalar is a
# message or enum of the same file ("Name" or "Outer.Inner"); "map<K,V>" declares a protobuf map.
DS_PACKAGE = "nvdsinferserver.config"
DS_ENUMS = {
    "MediaFormat": ["MEDIA_FORMAT_NONE", "IMAGE_FORMAT_RGB", "IMAGE_FORMAT_BGR", "IMAGE_FORMAT_GRAY"],
    "TensorOrder": ["TENSOR_ORDER_NONE", "TENSOR_ORDER_LINEAR", "TENSOR_ORDER_NHWC"],
    "TensorDataType": ["TENSOR_DT_NONE", "TENSOR_DT_FP32", "TENSOR_DT_FP16", "TENSOR_DT_INT8", "TENSOR_DT_INT32",
                       "TENSOR_DT_UINT8", "TENSOR_DT_UINT16", "TENSOR_DT_UINT32", "TENSOR_DT_FP64",
                       "TENSOR_DT_INT64", "TENSOR_DT_UINT64", "TENSOR_DT_STRING"],
    "MemoryType": ["MEMORY_TYPE_DEFAULT", "MEMORY_TYPE_CPU", "MEMORY_TYPE_GPU"],
    "InputControl.ProcessMode": ["PROCESS_MODE_DEFAULT", "PROCESS_MODE_FULL_FRAME", "PROCESS_MODE_CLIP_OBJECTS"],
}
DS_MESSAGES: dict[str, list[tuple]] = {
    "PluginControl": [("infer_config", "InferenceConfig"), ("input_control", "InputControl"),
                      ("output_control", "OutputControl")],
    "InferenceConfig": [("unique_id", "uint32"), ("gpu_ids", "int32", True), ("max_batch_size", "uint32"),
                        ("backend", "BackendParams"), ("preprocess", "PreProcessParams"),
                        ("postprocess", "PostProcessParams"), ("extra", "ExtraControl"),
                        ("custom_lib", "CustomLib"), ("clip_object_outside_roi", "bool")],
    "BackendParams": [("inputs", "InputLayer", True), ("outputs", "OutputLayer", True),
                      ("triton", "TritonParams", False, "infer_backend"),
                      ("trt_is", "TritonParams", False, "infer_backend"),
                      ("output_mem_type", "MemoryType"), ("disable_warmup", "bool")],
    "InputLayer": [("name", "string"), ("dims", "int32", True), ("data_type", "TensorDataType")],
    "OutputLayer": [("name", "string"), ("max_buffer_bytes", "uint64")],
    "TritonParams": [("model_name", "string"), ("version", "int64", False, None, "-1"),
                     ("model_repo", "TritonModelRepo", False, "server"), ("grpc", "TritonGrpcParams", False, "server")],
    "TritonModelRepo": [("root", "string", True), ("log_level", "uint32"), ("strict_model_config", "bool"),
                        ("tf_gpu_memory_fraction", "float"), ("tf_disable_soft_placement", "bool"),
                        ("min_compute_capacity", "float"), ("pinned_memory_pool_byte_size", "uint64"),
                        ("backend_dir", "string"), ("backend_configs", "BackendConfig", True),
                        ("cuda_device_memory", "CudaDeviceMem", True)],
    "BackendConfig": [("backend", "string"), ("setting", "string"), ("value", "string")],
    "CudaDeviceMem": [("device", "uint32"), ("memory_pool_byte_size", "uint64")],
    "TritonGrpcParams": [("url", "string"), ("enable_cuda_buffer_sharing", "bool")],
    "PreProcessParams": [("network_format", "MediaFormat"), ("tensor_order", "TensorOrder"),
                         ("tensor_name", "string"), ("frame_scaling_hw", "int32"),
                         ("frame_scaling_filter", "uint32"), ("maintain_aspect_ratio", "bool"),
                         ("symmetric_padding", "bool"),
                         ("normalize", "ScaleNormalize", False, "preprocess_method"),
                         # vistream extension (as nvinfer's pad-value): letterbox fill, in pixel units
                         ("pad_value", "float")],
    "ScaleNormalize": [("scale_factor", "float", False, None, "1.0"), ("channel_offsets", "float", True),
                       ("mean_file", "string")],
    "PostProcessParams": [("labelfile_path", "string"),
                          ("detection", "DetectionParams", False, "process_type"),
                          ("classification", "ClassificationParams", False, "process_type"),
                          ("segmentation", "SegmentationParams", False, "process_type"),
                          ("other", "OtherNetworkParams", False, "process_type"),
                          ("trtis_classification", "TritonClassifyParams", False, "process_type"),
                          ("triton_classification", "TritonClassifyParams", False, "process_type")],
    "DetectionParams": [("num_detected_classes", "int32"),
                        ("per_class_params", "map<int32,DetectionParams.PerClassParams>"),
                        ("custom_parse_bbox_func", "string"),
                        ("nms", "DetectionParams.Nms", False, "clustering_policy"),
                        ("dbscan", "DetectionParams.DbScan", False, "clustering_policy"),
                        ("group_rectangle", "DetectionParams.GroupRectangle", False, "clustering_policy"),
                        ("simple_cluster", "DetectionParams.SimpleCluster", False, "clustering_policy")],
    "DetectionParams.PerClassParams": [("pre_threshold", "float")],
    "DetectionParams.Nms": [("confidence_threshold", "float"), ("iou_threshold", "float"), ("topk", "int32")],
    "DetectionParams.DbScan": [("pre_threshold", "float"), ("eps", "float"), ("min_boxes", "int32"),
                               ("min_score", "float")],
    "DetectionParams.GroupRectangle": [("confidence_threshold", "float"), ("group_threshold", "int32"),
                                       ("eps", "float")],
    "DetectionParams.SimpleCluster": [("threshold", "float")],
    "ClassificationParams": [("threshold", "float"), ("custom_parse_classifier_func", "string")],
    "SegmentationParams": [("threshold", "float"), ("num_segmentation_classes", "int32"),
                           ("custom_parse_segmentation_func", "string")],
    "OtherNetworkParams": [("type_name", "string")],
    "TritonClassifyParams": [("topk", "uint32"), ("threshold", "float"), ("tensor_name", "string")],
    "ExtraControl": [("copy_input_to_host_buffers", "bool"), ("output_buffer_pool_size", "int32"),
                     ("custom_process_funcion", "string")],
    "CustomLib": [("path", "string")],
    "InputControl": [("process_mode", "InputControl.ProcessMode"), ("operate_on_gie_id", "int32", False, None, "-1"),
                     ("operate_on_class_ids", "int32", True), ("interval", "uint32"), ("async_mode", "bool"),
                     ("object_control", "InputControl.ObjectControl"), ("secondary_reinfer_interval", "uint32")],
    "InputControl.ObjectControl": [("bbox_filter", "InputControl.BBoxFilter")],
    "InputControl.BBoxFilter": [("min_width", "uint32"), ("min_height", "uint32"), ("max_width", "uint32"),
                                ("max_height", "uint32")],
    "OutputControl": [("output_tensor_meta", "bool"), ("detect_control", "OutputControl.DetectClassFilter")],
    "OutputControl.DetectClassFilter": [("default_filter", "OutputControl.BBoxFilter")],
    "OutputControl.BBoxFilter": [("min_width", "uint32"), ("min_height", "uint32"), ("max_width", "uint32"),
                                 ("max_height", "uint32")],
}

TRITON_PACKAGE = "inference"
TRITON_ENUMS = {
    "DataType": ["TYPE_INVALID", "TYPE_BOOL", "TYPE_UINT8", "TYPE_UINT16", "TYPE_UINT32", "TYPE_UINT64",
                 "TYPE_INT8", "TYPE_INT16", "TYPE_INT32", "TYPE_INT64", "TYPE_FP16", "TYPE_FP32", "TYPE_FP64",
                 "TYPE_STRING", "TYPE_BF16"],
    "ModelInput.Format": ["FORMAT_NONE", "FORMAT_NHWC", "FORMAT_NCHW"],
    "ModelInstanceGroup.Kind": ["KIND_AUTO", "KIND_GPU", "KIND_CPU", "KIND_MODEL"],
}
TRITON_MESSAGES: dict[str, list[tuple]] = {
    "ModelConfig": [("name", "string"), ("platform", "string"), ("backend", "string"),
                    ("version_policy", "ModelVersionPolicy"), ("max_batch_size", "int32"),
                    ("input", "ModelInput", True), ("output", "ModelOutput", True),
                    ("instance_group", "ModelInstanceGroup", True), ("default_model_filename", "string"),
                    ("dynamic_batching", "ModelDynamicBatching"),
                    ("parameters", "map<string,ModelParameter>")],
    "ModelVersionPolicy": [("latest", "ModelVersionPolicy.Latest", False, "policy_choice"),
                           ("all", "ModelVersionPolicy.All", False, "policy_choice"),
                           ("specific", "ModelVersionPolicy.Specific", False, "policy_choice")],
    "ModelVersionPolicy.Latest": [("num_versions", "uint32")],
    "ModelVersionPolicy.All": [],
    "ModelVersionPolicy.Specific": [("versions", "int64", True)],
    "ModelTensorReshape": [("shape", "int64", True)],
    "ModelInput": [("name", "string"), ("data_type", "DataType"), ("format", "ModelInput.Format"),
                   ("dims", "int64", True), ("reshape", "ModelTensorReshape"), ("is_shape_tensor", "bool"),
                   ("allow_ragged_batch", "bool"), ("optional", "bool")],
    "ModelOutput": [("name", "string"), ("data_type", "DataType"), ("dims", "int64", True),
                    ("reshape", "ModelTensorReshape"), ("label_filename", "string"), ("is_shape_tensor", "bool")],
    "ModelInstanceGroup": [("name", "string"), ("kind", "ModelInstanceGroup.Kind"), ("count", "int32"),
                           ("gpus", "int32", True)],
    "ModelDynamicBatching": [("preferred_batch_size", "int32", True), ("max_queue_delay_microseconds", "uint64"),
                             ("preserve_ordering", "bool")],
    "ModelParameter": [("string_value", "string")],
}


def _full(package: str, name: str) -> str:
    return f".{package}.{name}"


def _build_file(file_name: str, package: str, enums: dict[str, list[str]],
                messages: dict[str, list[tuple]]) -> descriptor_pb2.FileDescriptorProto:
    fdp = descriptor_pb2.FileDescriptorProto(name=file_name, package=package, syntax="proto2")
    protos: dict[str, descriptor_pb2.DescriptorProto] = {}

    def message_proto(name: str) -> descriptor_pb2.DescriptorProto:
        if name not in protos:
            outer, _, inner = name.rpartition(".")
            protos[name] = (message_proto(outer).nested_type.add(name=inner) if outer
                            else fdp.message_type.add(name=name))
        return protos[name]

    for name, values in enums.items():
        outer, _, inner = name.rpartition(".")
        ep = message_proto(outer).enum_type.add(name=inner) if outer else fdp.enum_type.add(name=name)
        for i, v in enumerate(values):
            ep.value.add(name=v, number=i)
    for name, fields in messages.items():
        mp = message_proto(name)
        oneofs: dict[str, int] = {}
        for number, spec in enumerate(fields, start=1):
            fname, ftype, repeated, oneof, default = (*spec, *(False, None, None)[len(spec) - 2:])
            fp = mp.field.add(name=fname, number=number, json_name=fname)
            if ftype.startswith("map<"):
                key_t, val_t = ftype[4:-1].split(",")
                entry_name = "".join(p.capitalize() for p in fname.split("_")) + "Entry"
                ep = mp.nested_type.add(name=entry_name)
                ep.options.map_entry = True
                ep.field.add(name="key", number=1, label=F.LABEL_OPTIONAL, type=_SCALARS[key_t], json_name="key")
                vf = ep.field.add(name="value", number=2, label=F.LABEL_OPTIONAL, json_name="value")
                _set_type(vf, val_t, package, enums)
                fp.label = F.LABEL_REPEATED
                fp.type = F.TYPE_MESSAGE
                fp.type_name = _full(package, f"{name}.{entry_name}")
                continue
            fp.label = F.LABEL_REPEATED if repeated else F.LABEL_OPTIONAL
            _set_type(fp, ftype, package, enums)
            if default is not None:
                fp.default_value = default
            if oneof:
                if oneof not in oneofs:
                    oneofs[oneof] = len(mp.oneof_decl)
                    mp.oneof_decl.add(name=oneof)
                fp.oneof_index = oneofs[oneof]
    return fdp


def _set_type(fp: descriptor_pb2.FieldDescriptorProto, ftype: str, package: str, enums: dict) -> None:
    if ftype in _SCALARS:
        fp.type = _SCALARS[ftype]
    else:
        fp.type = F.TYPE_ENUM if ftype in enums else F.TYPE_MESSAGE
        fp.type_name = _full(package, ftype)


@cache
def _pool() -> descriptor_pool.DescriptorPool:
    pool = descriptor_pool.DescriptorPool()
    pool.Add(_build_file("vistream_nvdsinferserver_config.proto", DS_PACKAGE, DS_ENUMS, DS_MESSAGES))
    pool.Add(_build_file("vistream_triton_model_config.proto", TRITON_PACKAGE, TRITON_ENUMS, TRITON_MESSAGES))
    return pool


def message_class(full_name: str) -> type:
    """The generated message class of ``full_name`` (e.g. ``"nvdsinferserver.config.PluginControl"``)."""
    return message_factory.GetMessageClass(_pool().FindMessageTypeByName(full_name))


def plugin_control_class() -> type:
    """Message class of an nvinferserver config file (``infer_config { ... } input_control { ... }``)."""
    return message_class(f"{DS_PACKAGE}.PluginControl")


def model_config_class() -> type:
    """Message class of a Triton ``config.pbtxt``."""
    return message_class(f"{TRITON_PACKAGE}.ModelConfig")
